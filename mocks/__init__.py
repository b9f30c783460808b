"""Stand-ins for the systems adcbridge talks to, run over real sockets in tests and demos."""
