"""adcbridge keeps a front ADC in step with an OpenNJet Kubernetes Ingress Controller.

DNS names of the served hosts resolve to the VIPs, SLB pools hold nodeIP:nodePort of the
KIC Service, and VIP virtual servers are bound to those pools. See ARCHITECTURE.md for
the layers; this package's public surface is the ``adcbridge`` command.
"""

__version__ = "0.1.0"
