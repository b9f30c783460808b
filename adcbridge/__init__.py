"""adcbridge keeps a front ADC in step with an OpenNJet Kubernetes Ingress Controller.

DNS names of the served hosts resolve to the VIPs, SLB pools hold nodeIP:nodePort of the
KIC Service, and VIP virtual servers are bound to those pools. The design (one cycle, the
layers, the pure core, ownership) is in ``adcbridge/README.md``; this package's public
surface is the ``adcbridge`` command.
"""

__version__ = "0.1.0"
