"""Settings for the POS. Every value comes from the environment or a `.env` file (see .env.example)."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.templatetags.static import static
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def env(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or ("insecure-dev-key-change-me" if DEBUG or env_bool("TESTING") else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off (see .env.example)")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "simple_history",
    "django_q",
    "axes",
    "csp",
    "pos.core",
    "pos.accounts",
    "pos.catalog",
    "pos.inventory",
    "pos.sales",
    "pos.payments",
    "pos.reports",
    "pos.tills",
    "pos.c2b",
    "pos.fiscal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pos.core.i18n.SessionLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "pos.core.middleware.PermissionsPolicyMiddleware",
    "pos.core.middleware.AdminObjectIdMiddleware",
    # Last: answers a locked-out login (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Connections: persistent by default when DEBUG is off (a new PostgreSQL connection costs ~4 ms, more
# than the scanner's whole lookup), checked before reuse so a restarted server costs one error-free
# reconnect. DB_CONN_MAX_AGE=0 closes after every request (the Django default, and the DEBUG default).
DB_CONN_MAX_AGE = int(env("DB_CONN_MAX_AGE", "0" if DEBUG else "600"))
# PostgreSQL: the checkout's statements are prepared once per connection (pos.core.prepared.statements).
# 0 for a connection pooler in transaction mode that cannot keep prepared statements (PgBouncer < 1.21).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=DB_CONN_MAX_AGE,
        conn_health_checks=DB_CONN_MAX_AGE > 0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write to the same file. Transactions take the write lock when
    # they begin (IMMEDIATE), so a writer waits up to `timeout` seconds for another instead of failing
    # at once with "database is locked" when its read lock cannot be upgraded; WAL lets readers go on
    # while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    })
elif DB_PREPARED_STATEMENTS:
    # Only pos.core.prepared's statements are prepared (Django's own never are: its cursors bind on the
    # client); they are key lookups and writes, planned once for good.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "prepare_threshold": 2**31 - 1,  # psycopg's automatic preparation: never (ours is explicit)
        "options": "-c plan_cache_mode=force_generic_plan",
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login first (both /admin/ and the API)
    "pos.accounts.backends.PermissionBackend",
]

# A cache shared by every process (web workers and task workers): the payment providers' OAuth
# tokens live here. Redis when REDIS_URL is set, else a database table.
if env("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("REDIS_URL")}}
else:
    # Never culled at Django's default 300 entries: the eTIMS simulator, tokens and catalogue versions live here.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "pos_cache",
                          "OPTIONS": {"MAX_ENTRIES": 1_000_000}}}

# The scanner's barcode lookup answers from each web worker's memory, checked against versions bumped
# by every change so it is never stale (pos/catalog/lookup.py). local: versions in a shared-memory file
# of this machine (web and task workers on one machine; the default when DEBUG is off); redis: in the
# shared cache (REDIS_URL), for web workers on several machines; off: one indexed query per lookup.
CATALOG_CACHE = env("CATALOG_CACHE", "off" if DEBUG or env_bool("TESTING") else "local")
CATALOG_CACHE_PATH = env("CATALOG_CACHE_PATH")  # default /dev/shm/duka-pos-catalog-<database>
CATALOG_CACHE_MAX_AGE = int(env("CATALOG_CACHE_MAX_AGE", "300"))
# The sales-lines export streams up to this many lines in the request (~25k lines/s: well inside
# gunicorn's 30 s timeout); a larger period becomes a background export (202 with the job).
EXPORT_INLINE_MAX_LINES = int(env("EXPORT_INLINE_MAX_LINES", "300000"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The shop's default language (en or sw); each user may switch theirs (pos.core.i18n: kept in the session).
LANGUAGE_CODE = env("SHOP_LANGUAGE", "en")
LANGUAGES = [("en", "English"), ("sw", "Kiswahili")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Africa/Nairobi")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "pos" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not env_bool("TESTING")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "/admin/"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "pos@localhost")

# --- Security (production: DEBUG off, behind a TLS proxy) --------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS")
# Error pages and error e-mails never show a secret (pos.core.debug.SecretsFilter).
DEFAULT_EXCEPTION_REPORTER_FILTER = "pos.core.debug.SecretsFilter"

# Proxies in front of gunicorn whose X-Forwarded-For is believed (nginx: 1). 0: REMOTE_ADDR is the client.
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))

# Login lockout (django-axes) on /admin/login/ and /api/auth/login/: AXES_FAILURE_LIMIT wrong passwords
# for one username from one address lock that pair for AXES_COOLOFF_MINUTES. Keyed by username AND
# address, so two tills of one shop behind one proxy never lock each other out.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "pos.core.clientip.client_ip"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "pos.accounts.auth.lockout_response"
AXES_VERBOSE = False

# Background export files (they may hold every sale line of a period) are deleted after this many hours.
EXPORT_KEEP_HOURS = int(env("EXPORT_KEEP_HOURS", "24"))

# API tokens end after this many hours (and on a password change or deactivation).
API_TOKEN_TTL_HOURS = float(env("API_TOKEN_TTL_HOURS", "12"))
# The API's schema and its Swagger/ReDoc pages need a login unless DEBUG is on.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", DEBUG)

# Content-Security-Policy (django-csp): our own scripts and styles only; an inline script needs the
# page's nonce. Permissions-Policy: no camera, microphone, geolocation, payment or USB for any page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # 'unsafe-eval': Alpine.js (unfold's admin and the checkout page) compiles its x- attributes.
        "script-src": ["'self'", NONCE] + (["'unsafe-eval'"] if env_bool("CSP_UNSAFE_EVAL", True) else []),
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "manifest-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}
PERMISSIONS_POLICY = env("PERMISSIONS_POLICY", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                                               "interest-cohort=()")

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pos.accounts.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "pos.core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": int(env("API_PAGE_SIZE", "50")),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pos.core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {
        "login": env("THROTTLE_LOGIN", "10/min"),
        "webhook": env("THROTTLE_WEBHOOK", "120/min"),
        "anon": env("THROTTLE_ANON", "60/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # The throttles' client address: X-Forwarded-For only as far as the trusted proxies (pos.core.clientip).
    "NUM_PROXIES": int(env("TRUSTED_PROXY_COUNT", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "POS API",
    "DESCRIPTION": "Point of sale and back office: catalogue, stock, sales, payments and reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc served from our own static files (no CDN: shops have flaky internet).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` (or `kind`): give each choice set its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "ShiftStatusEnum": "pos.sales.models.ShiftStatus",
        "SaleStatusEnum": "pos.sales.models.SaleStatus",
        "MovementKindEnum": "pos.inventory.models.MovementKind",
        "ManualMovementKindEnum": "pos.inventory.api.MANUAL_KIND_CHOICES",
        "AlertStatusEnum": "pos.inventory.models.AlertStatus",
        "CountStatusEnum": "pos.inventory.models.CountStatus",
        "ReceiptStatusEnum": "pos.inventory.models.ReceiptStatus",
        "PaymentStatusEnum": "pos.payments.models.PaymentStatus",
        "RefundStatusEnum": "pos.payments.models.RefundStatus",
        "CallbackOutcomeEnum": "pos.payments.models.CallbackOutcome",
        "ExportStatusEnum": "pos.reports.models.ExportStatus",
        "ShiftReportKindEnum": [("X", "X"), ("Z", "Z")],
        "CashMovementKindEnum": "pos.sales.models.CashMovementKind",
        "RefundByEnum": ["cash", "mpesa", "airtel", "card", "owe"],
        "RefundNowByEnum": ["cash", "mpesa", "airtel", "card"],
    },
}

# --- Background work (django-q2) ----------------------------------------------------------------
Q_CLUSTER = {
    "name": "pos",
    "workers": int(env("Q_WORKERS", "2")),
    "timeout": 60,
    "retry": 120,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
    "label": "Tasks",
}
if env("REDIS_URL") and env_bool("Q_USE_REDIS", True):
    Q_CLUSTER["redis"] = env("REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

# --- The shop -----------------------------------------------------------------------------------
CURRENCY = env("CURRENCY", "KES")
SHOP_NAME = env("SHOP_NAME", "Duka Demo Supermarket")
SHOP_ADDRESS = env("SHOP_ADDRESS", "Moi Avenue, Nairobi")
SHOP_PHONE = env("SHOP_PHONE", "+254 700 000 000")
SHOP_KRA_PIN = env("SHOP_KRA_PIN", "P051234567X")
SHOP_VAT_NUMBER = env("SHOP_VAT_NUMBER", "0123456A")
RECEIPT_PREFIX = env("RECEIPT_PREFIX", "S-")
DEFAULT_TAX_RATE = Decimal(env("DEFAULT_TAX_RATE", "16.00"))
ALLOW_NEGATIVE_STOCK = env_bool("ALLOW_NEGATIVE_STOCK", False)
# Seconds an unpaid (pending_payment) sale keeps its stock before a task cancels it.
SALE_PAYMENT_TIMEOUT = int(env("SALE_PAYMENT_TIMEOUT", "900"))
# Highest line discount (percent) a cashier may give; managers and admins are not limited.
CASHIER_MAX_DISCOUNT_PERCENT = Decimal(env("CASHIER_MAX_DISCOUNT_PERCENT", "10"))
# Cash rounding (Kenyan tills): a sale's total is rounded to whole multiples of this step (shillings,
# at least 1) by an explicit rounding line, so every tender (cash, M-Pesa, card) is payable.
CASH_ROUNDING_STEP = Decimal(env("CASH_ROUNDING_STEP", "1"))
CASH_ROUNDING_RULE = env("CASH_ROUNDING_RULE", "nearest")  # nearest (half up) | down (never charge more)
# Cash taken out of a till's drawer (paid out) above this amount needs a manager (their PIN at the till).
CASH_OUT_AUTHORISATION_LIMIT = Decimal(env("CASH_OUT_AUTHORISATION_LIMIT", "2000"))
# Manager PIN at the till: failures before the PIN locks, and for how long (seconds).
MANAGER_PIN_MAX_FAILURES = int(env("MANAGER_PIN_MAX_FAILURES", "5"))
MANAGER_PIN_LOCK_SECONDS = int(env("MANAGER_PIN_LOCK_SECONDS", "900"))
# Offline receipt numbers a till reserves at a time (it asks for the next block when few are left).
OFFLINE_BLOCK_SIZE = int(env("OFFLINE_BLOCK_SIZE", "50"))
# How often an open till checks the server is there (and reports its unsynced sales), in seconds.
OFFLINE_HEARTBEAT_SECONDS = int(env("OFFLINE_HEARTBEAT_SECONDS", "10"))
LOW_STOCK_SCAN_MINUTES = int(env("LOW_STOCK_SCAN_MINUTES", "60"))

# --- Payments -----------------------------------------------------------------------------------
# Where the providers reach our webhooks (callback URLs are built from this).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# The loopback simulator of the providers (pos/payments/sandbox/README.md), used for every provider
# without credentials. Off by default in production: a simulator that approves payments must never
# stand in for a provider whose credentials are missing.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", DEBUG or env_bool("TESTING"))
SANDBOX_BASE_URL = env("SANDBOX_BASE_URL", "http://127.0.0.1:8000/sandbox")
SANDBOX_CALLBACK_DELAY = float(env("SANDBOX_CALLBACK_DELAY", "3"))
SANDBOX_SLOW_SECONDS = float(env("SANDBOX_SLOW_SECONDS", "14"))  # the sandbox's slow-answer scenarios
SANDBOX_QUERY_LAG = float(env("SANDBOX_QUERY_LAG", "5"))  # STK Query lagging the callback (254700000409)
SANDBOX_CALLBACK_SENDERS = int(env("SANDBOX_CALLBACK_SENDERS", "4"))
SANDBOX_AIRTEL_CALLBACK_URL = env("SANDBOX_AIRTEL_CALLBACK_URL")  # default: PUBLIC_BASE_URL + webhook path
SANDBOX_CARD_WEBHOOK_URL = env("SANDBOX_CARD_WEBHOOK_URL")  # default: PUBLIC_BASE_URL + webhook path
PAYMENT_HTTP_TIMEOUT = float(env("PAYMENT_HTTP_TIMEOUT", "15"))
PAYMENT_VERIFY_AFTER_SECONDS = int(env("PAYMENT_VERIFY_AFTER_SECONDS", "30"))
PAYMENT_EXPIRE_AFTER_SECONDS = int(env("PAYMENT_EXPIRE_AFTER_SECONDS", "300"))
# How long an unconfirmed payment/refund or an unconfirmed callback is re-checked with the provider
# before it is flagged for a person; the re-check back-off doubles up to PAYMENT_MAX_VERIFY_INTERVAL.
PAYMENT_CONFIRM_WINDOW_SECONDS = int(env("PAYMENT_CONFIRM_WINDOW_SECONDS", "3600"))
PAYMENT_MAX_VERIFY_INTERVAL = int(env("PAYMENT_MAX_VERIFY_INTERVAL", "600"))
REFUND_APPROVAL_THRESHOLD = Decimal(env("REFUND_APPROVAL_THRESHOLD", "5000"))

MPESA_ENV = env("MPESA_ENV", "sandbox")  # sandbox | production
MPESA_CONSUMER_KEY = env("MPESA_CONSUMER_KEY")
MPESA_CONSUMER_SECRET = env("MPESA_CONSUMER_SECRET")
MPESA_SHORTCODE = env("MPESA_SHORTCODE", "174379")
MPESA_PASSKEY = env("MPESA_PASSKEY", "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919")
MPESA_TRANSACTION_TYPE = env("MPESA_TRANSACTION_TYPE", "CustomerPayBillOnline")  # or CustomerBuyGoodsOnline
MPESA_TILL_NUMBER = env("MPESA_TILL_NUMBER")  # PartyB for CustomerBuyGoodsOnline
MPESA_INITIATOR_NAME = env("MPESA_INITIATOR_NAME", "testapi")
MPESA_SECURITY_CREDENTIAL = env("MPESA_SECURITY_CREDENTIAL")
MPESA_ALLOWED_IPS = env_list("MPESA_ALLOWED_IPS")

# Lipa na M-Pesa (C2B: the customer pays the till/paybill from their phone), pos/c2b.
C2B_SHORTCODE = env("C2B_SHORTCODE", MPESA_SHORTCODE)  # the shortcode whose URLs are registered and pulled
C2B_TILL_NUMBER = env("C2B_TILL_NUMBER", MPESA_TILL_NUMBER)  # shown on the till when customers pay a till
# The secret in the registered C2B URLs: notifications without it are stored and ignored. REQUIRED in
# production (long and random, letters/digits only); a fixed value only for the sandbox/tests.
C2B_URL_TOKEN = env("C2B_URL_TOKEN") or ("sandbox-c2b-token" if DEBUG or env_bool("TESTING") else "")
C2B_RESPONSE_TYPE = env("C2B_RESPONSE_TYPE", "Completed")  # if our validation URL does not answer
C2B_VALIDATE_ACCOUNT = env_bool("C2B_VALIDATE_ACCOUNT", False)  # refuse paybill payments naming no waiting sale
C2B_MATCH_WINDOW_MINUTES = int(env("C2B_MATCH_WINDOW_MINUTES", "15"))
C2B_RECONCILE_HOURS = int(env("C2B_RECONCILE_HOURS", "6"))  # hourly pull covers this many hours (max 48)
C2B_PULL_NOMINATED_NUMBER = env("C2B_PULL_NOMINATED_NUMBER")
# Raw C2B notices (forged floods included) are deleted after this many days; unprocessed or malformed notices
# and those of money still unmatched are kept. The register of received money is never deleted.
C2B_NOTIFICATION_KEEP_DAYS = int(env("C2B_NOTIFICATION_KEEP_DAYS", "90"))
SANDBOX_PULL_PAGE_SIZE = int(env("SANDBOX_PULL_PAGE_SIZE", "50"))

AIRTEL_ENV = env("AIRTEL_ENV", "uat")  # uat | production
AIRTEL_CLIENT_ID = env("AIRTEL_CLIENT_ID")
AIRTEL_CLIENT_SECRET = env("AIRTEL_CLIENT_SECRET")
AIRTEL_COUNTRY = env("AIRTEL_COUNTRY", "KE")
AIRTEL_CALLBACK_SECRET = env("AIRTEL_CALLBACK_SECRET")

CARD_PROVIDER = env("CARD_PROVIDER", "flutterwave")
FLUTTERWAVE_SECRET_KEY = env("FLUTTERWAVE_SECRET_KEY")
# The verif-hash of webhooks. The public sandbox value only without real keys: with real keys and no
# hash set, every webhook is rejected (an empty secret never matches).
FLUTTERWAVE_SECRET_HASH = env("FLUTTERWAVE_SECRET_HASH") or ("" if FLUTTERWAVE_SECRET_KEY else "sandbox-secret-hash")
FLUTTERWAVE_CUSTOMER_EMAIL = env("FLUTTERWAVE_CUSTOMER_EMAIL", "walk-in@example.com")
CARD_REDIRECT_URL = env("CARD_REDIRECT_URL")  # where the card page returns; default: the checkout page

# --- KRA eTIMS (pos/fiscal; see the README's eTIMS section) --------------------------------------
# Mode of the device created from these settings when none is configured in the admin:
# off | demo (the local OSCU simulator) | sandbox (KRA's test system) | production.
ETIMS_MODE = env("ETIMS_MODE", "demo" if DEBUG else "off")
ETIMS_PIN = env("ETIMS_PIN", SHOP_KRA_PIN)
ETIMS_BRANCH_ID = env("ETIMS_BRANCH_ID", "00")
ETIMS_DEVICE_SERIAL = env("ETIMS_DEVICE_SERIAL", "DEMO-SERIAL-0001")
ETIMS_BASE_URL = env("ETIMS_BASE_URL")  # empty: the simulator (demo) or KRA's sandbox/production URL
ETIMS_SIMULATOR_URL = env("ETIMS_SIMULATOR_URL", SANDBOX_BASE_URL.rstrip("/") + "/etims/")
ETIMS_SIMULATOR_ENABLED = env_bool("ETIMS_SIMULATOR_ENABLED", SANDBOX_ENABLED)
# Fernet key (urlsafe base64, 32 bytes) that encrypts the device's cmcKey; empty: derived from SECRET_KEY.
ETIMS_ENCRYPTION_KEY = env("ETIMS_ENCRYPTION_KEY")
ETIMS_TRANSPORT = env("ETIMS_TRANSPORT", "pos.fiscal.services.transport.OscuTransport")
ETIMS_HTTP_TIMEOUT = float(env("ETIMS_HTTP_TIMEOUT", "30"))
ETIMS_RETRY_BASE_SECONDS = int(env("ETIMS_RETRY_BASE_SECONDS", "30"))
ETIMS_RETRY_MAX_SECONDS = int(env("ETIMS_RETRY_MAX_SECONDS", "900"))
ETIMS_LEASE_SECONDS = int(env("ETIMS_LEASE_SECONDS", "300"))
ETIMS_UNSIGNED_ALERT_MINUTES = int(env("ETIMS_UNSIGNED_ALERT_MINUTES", "60"))
ETIMS_DEFAULT_ITEM_CLASS = env("ETIMS_DEFAULT_ITEM_CLASS", "5059690800")
# Receipts: paper width (80 or 58 mm) and whether ESC/POS output opens the cash drawer.
RECEIPT_PAPER_MM = int(env("RECEIPT_PAPER_MM", "80"))
RECEIPT_KICK_DRAWER = env_bool("RECEIPT_KICK_DRAWER", False)

# --- Admin (django-unfold) ----------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": SHOP_NAME,
    "SITE_HEADER": SHOP_NAME,
    "SITE_SYMBOL": "point_of_sale",
    "SITE_FAVICONS": [
        {"rel": "icon", "sizes": "any", "type": "image/svg+xml", "href": lambda request: static("pos/favicon.svg")},
        {"rel": "alternate icon", "sizes": "48x48", "type": "image/x-icon",
         "href": lambda request: static("pos/favicon.ico")},
    ],
    "DASHBOARD_CALLBACK": "pos.reports.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "pos.core.navigation.sidebar_navigation",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # 4xx answers (unknown barcode, 403, 404) are INFO without a traceback; 5xx stay ERROR with it
    "filters": {"quiet_client_errors": {"()": "pos.core.logs.QuietClientErrors"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["quiet_client_errors"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own default sends "django" to a console handler of its own (DEBUG) and then to ours
        # through the root: every request error was printed twice. One handler, no propagation.
        "django": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO"), "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Spreadsheet exports --------------------------------------------------------------------------
# django-import-export's own IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips a leading "=" and turns
# every cell (numbers too) into text; every resource uses pos.core.cells.SafeExportMixin instead, the
# same rule as the report writers (tests/security/test_formula_injection.py).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False
