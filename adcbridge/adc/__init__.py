"""The ADC side: the only package that speaks HTTP to appliances (httpx, tenacity).

``dialects`` picks the configured dialect and opens a session with the appliance
(``open_adc``); each dialect is a package here (``reference/``) built on the shared session
(``client.AdcClient`` with the dialect's ``Wire``) and the shared apply machinery
(``applying``). ``contract`` says what a dialect is; ``credentials`` and ``tls`` read rotated
Secrets.
"""

from adcbridge.adc.applying import ApplyReport, OperationResult
from adcbridge.adc.client import AdcClient, Credentials, ReadOnlyViolation
from adcbridge.adc.contract import Adc, AdcInfo, Dialect, SettingProblem
from adcbridge.adc.credentials import credential_source
from adcbridge.adc.dialects import DIALECTS, check_settings, dialect_of, open_adc

__all__ = [
    "DIALECTS",
    "Adc",
    "AdcClient",
    "AdcInfo",
    "ApplyReport",
    "Credentials",
    "Dialect",
    "OperationResult",
    "ReadOnlyViolation",
    "SettingProblem",
    "check_settings",
    "credential_source",
    "dialect_of",
    "open_adc",
]
