"""The ADC side: the only package that speaks HTTP to the appliance (httpx, tenacity).

``AdcClient`` owns the session and the error translation, ``AdcDriver`` turns whole states
and plans into calls, ``credentials`` reads the login from settings or a secrets directory.
"""

from adcbridge.adc.client import AdcClient, Credentials, ReadOnlyViolation
from adcbridge.adc.credentials import credential_source
from adcbridge.adc.driver import AdcDriver, ApplyReport, OperationResult

__all__ = [
    "AdcClient",
    "AdcDriver",
    "ApplyReport",
    "Credentials",
    "OperationResult",
    "ReadOnlyViolation",
    "credential_source",
]
