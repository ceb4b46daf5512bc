"""What an error report (the DEBUG page, the admins' error e-mail) may show of the settings and of a
request: Django's filter hides names with API, TOKEN, KEY, SECRET, PASS, SIGNATURE; this one also hides
credentials, PINs, authorisation values and connection strings that carry passwords (Redis, database,
cache locations), e.g. MPESA_SECURITY_CREDENTIAL or REDIS_URL."""

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|PIN|AUTH|DSN|LOCATION|REDIS|BROKER|"
        r"DATABASE_URL|_URL$|COOKIE|SESSION",
        flags=re.IGNORECASE,
    )
