"""The F5 BIG-IP dialect (iControl REST), being built: so far its HTTP level, ``wire.py``.

It is not a choice of ``adc.dialect`` yet: that comes with the driver (LTM and BIG-IP DNS objects,
transactions, HA). What is here is the session rules a BIG-IP needs, used through the shared
``AdcClient`` and tested against the emulator in ``mocks/bigip/``.
"""
