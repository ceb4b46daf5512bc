"""KRA eTIMS: the control-unit device of a branch, code tables, item registrations, the signing outbox
and a log of every call.

The catalogue and sales models are not touched: an eTIMS item is a one-to-one row beside its product,
and a signed document is a row beside its sale or return.
"""

from django.db import models
from django.db.models import Q


class Mode(models.TextChoices):
    OFF = "off", "Off (no eTIMS)"
    DEMO = "demo", "Demo (local simulator)"
    SANDBOX = "sandbox", "KRA sandbox"
    PRODUCTION = "production", "Production"


class Device(models.Model):
    """One branch's OSCU: the PIN, branch id and device serial KRA knows, and what initialisation gave.

    The communication key (cmcKey) is stored encrypted (pos.fiscal.services.secrets) and never shown.
    Exactly one device is active: the one this install's sales are signed by.
    """

    name = models.CharField(max_length=80, default="Head office")
    pin = models.CharField("KRA PIN", max_length=11)
    branch_id = models.CharField("branch id (bhfId)", max_length=2, default="00")
    serial = models.CharField("device serial (dvcSrlNo)", max_length=40)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.DEMO)
    base_url = models.CharField(max_length=300, blank=True,
                                help_text="Empty: the simulator in demo mode, KRA's sandbox or production URL.")
    is_active = models.BooleanField(default=True)
    # From selectInitOsdcInfo
    sdc_id = models.CharField("SCU id (sdcId)", max_length=40, blank=True)
    dvc_id = models.CharField("device id (dvcId)", max_length=40, blank=True)
    mrc_no = models.CharField("MRC no", max_length=40, blank=True)
    taxpayer_name = models.CharField(max_length=200, blank=True)
    cmc_key_encrypted = models.TextField(blank=True, editable=False)
    initialised_at = models.DateTimeField(null=True, blank=True)
    enabled_at = models.DateTimeField(null=True, blank=True, editable=False,
                                      help_text="When eTIMS was last switched on: sales paid since then are signed.")
    init_error = models.CharField(max_length=300, blank=True)
    codes_last_req_dt = models.CharField(max_length=14, blank=True, default="")
    item_classes_last_req_dt = models.CharField(max_length=14, blank=True, default="")
    # Only one outbox runner per device at a time (a lease, so a crashed runner frees it).
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    lease_token = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_active", "pin", "branch_id"]
        constraints = [
            models.UniqueConstraint(fields=["pin", "branch_id"], name="fiscal_one_device_per_branch"),
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="fiscal_one_active_device"),
        ]
        permissions = [("initialise_device", "Can initialise the eTIMS device and refresh code tables")]

    def __str__(self):
        return f"{self.name} ({self.pin}/{self.branch_id}, {self.get_mode_display()})"

    @property
    def is_initialised(self):
        return bool(self.initialised_at and self.cmc_key_encrypted)


class Counter(models.Model):
    """Gap-free numbers per device: `invc` (invoice numbers) and `sar` (stock movement numbers).
    The row is locked while a number is taken, and a number KRA refused for good is given back."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="counters")
    kind = models.CharField(max_length=10)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "kind"], name="fiscal_one_counter_per_kind")]


class ItemSequence(models.Model):
    """The 7-digit sequence of item codes, per KRA PIN."""

    pin = models.CharField(max_length=11, unique=True)
    last_number = models.PositiveIntegerField(default=0)


class Code(models.Model):
    """A row of KRA's code tables (selectCodeList): tax types, payment types, units, countries ..."""

    code_class = models.CharField(max_length=5)
    class_name = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    sort_order = models.IntegerField(default=0)
    in_use = models.BooleanField(default=True)
    extra = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code_class", "sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["code_class", "code"], name="fiscal_unique_code")]

    def __str__(self):
        return f"{self.code_class}/{self.code} {self.name}"


class ItemClass(models.Model):
    """KRA's item classification (selectItemClsList)."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=200)
    level = models.PositiveSmallIntegerField(default=1)
    tax_type = models.CharField(max_length=1, blank=True)
    in_use = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "item classes"

    def __str__(self):
        return f"{self.code} {self.name}"


class TaxChoice(models.TextChoices):
    """How a product whose VAT rate is 0 is declared (a 16 % or 8 % rate gives B or E by itself)."""

    EXEMPT = "A", "A - exempt"
    ZERO_RATED = "C", "C - zero-rated (0 %)"
    NON_VAT = "D", "D - non-VAT"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Waiting to register"
    REGISTERED = "registered", "Registered"
    REJECTED = "rejected", "Rejected by KRA"


class FiscalItem(models.Model):
    """A product's eTIMS item: its code and classification and whether KRA has it (saveItem)."""

    product = models.OneToOneField("catalog.Product", on_delete=models.PROTECT, related_name="fiscal_item")
    pin = models.CharField(max_length=11)
    item_code = models.CharField("itemCd", max_length=20)
    item_class = models.CharField("itemClsCd", max_length=10)
    item_type = models.CharField("itemTyCd", max_length=1, default="2",
                                 help_text="1 raw material, 2 finished product, 3 service")
    origin = models.CharField("orgnNatCd", max_length=2, default="KE")
    packaging_unit = models.CharField("pkgUnitCd", max_length=5, default="NT")
    quantity_unit = models.CharField("qtyUnitCd", max_length=5, default="U")
    zero_rate_as = models.CharField("tax type when the VAT rate is 0", max_length=1, choices=TaxChoice.choices,
                                    default=TaxChoice.EXEMPT)
    tax_type = models.CharField("taxTyCd", max_length=1, blank=True)
    status = models.CharField(max_length=12, choices=ItemStatus.choices, default=ItemStatus.PENDING, db_index=True)
    registered_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    registered_at = models.DateTimeField(null=True, blank=True)
    result_code = models.CharField(max_length=10, blank=True)
    result_message = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item_code"]
        constraints = [models.UniqueConstraint(fields=["pin", "item_code"], name="fiscal_unique_item_code")]
        permissions = [("resend_item", "Can send an item to KRA again")]

    def __str__(self):
        return f"{self.item_code} {self.product}"


class DocumentKind(models.TextChoices):
    SALE = "S", "Sale (tax invoice)"
    CREDIT_NOTE = "R", "Credit note"


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", "Waiting"
    SIGNED = "signed", "Signed"
    FAILED = "failed", "Rejected by KRA"
    BLOCKED = "blocked", "Blocked (item not registered)"


class StockStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENT = "sent", "Sent"
    FAILED = "failed", "Rejected by KRA"


class Document(models.Model):
    """One sale or credit note to be signed by the SCU: an entry of the ordered, durable outbox.

    One per sale (`sale` unique among sales) and per return; `trade_invoice_no` (our receipt number, KRA's
    trdInvcNo) is unique, so nothing is ever signed twice. `invoice_no` (invcNo) is taken from the device's
    gap-free counter when the document is sent, in outbox order."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=1, choices=DocumentKind.choices)
    sale = models.ForeignKey("sales.Sale", on_delete=models.PROTECT, related_name="fiscal_documents")
    sale_return = models.OneToOneField("sales.SaleReturn", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="fiscal_document")
    trade_invoice_no = models.CharField("our receipt no (trdInvcNo)", max_length=50, unique=True)
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED,
                              db_index=True)
    invoice_no = models.PositiveBigIntegerField("invcNo", null=True, blank=True)
    original_invoice_no = models.PositiveBigIntegerField("orgInvcNo", null=True, blank=True)
    request = models.JSONField(default=dict, blank=True, editable=False)
    answer = models.JSONField(default=dict, blank=True, editable=False)
    result_code = models.CharField(max_length=10, blank=True)
    result_message = models.CharField(max_length=300, blank=True)
    # The signature (from the stored answer)
    sdc_id = models.CharField(max_length=40, blank=True)
    mrc_no = models.CharField(max_length=40, blank=True)
    receipt_counter = models.PositiveBigIntegerField("curRcptNo", null=True, blank=True)
    receipt_total = models.PositiveBigIntegerField("totRcptNo", null=True, blank=True)
    internal_data = models.CharField("intrlData", max_length=100, blank=True)
    signature = models.CharField("rcptSign", max_length=100, blank=True)
    sdc_datetime = models.CharField("sdcDateTime", max_length=14, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    # Stock movement report (insertStockIO + saveStockMaster), after the document is signed
    stock_status = models.CharField(max_length=10, choices=StockStatus.choices, default=StockStatus.PENDING)
    stock_no = models.PositiveBigIntegerField("sarNo", null=True, blank=True)
    stock_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "invoice_no"], condition=Q(invoice_no__isnull=False),
                                    name="fiscal_unique_invoice_no"),
            models.UniqueConstraint(fields=["device", "stock_no"], condition=Q(stock_no__isnull=False),
                                    name="fiscal_unique_sar_no"),
            models.UniqueConstraint(fields=["sale"], condition=Q(kind="S"), name="fiscal_one_document_per_sale"),
        ]
        indexes = [models.Index(fields=["device", "status", "id"], name="fiscal_outbox")]
        permissions = [("resend_document", "Can send an eTIMS document again")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.trade_invoice_no}"

    @property
    def is_signed(self):
        return self.status == DocumentStatus.SIGNED

    @property
    def cu_invoice_no(self):
        return f"{self.sdc_id}/{self.receipt_counter}" if self.is_signed else ""


class Call(models.Model):
    """Every request to the SCU and its answer, secrets masked."""

    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.CASCADE, related_name="calls")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    item = models.ForeignKey(FiscalItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    path = models.CharField(max_length=60)
    request = models.JSONField(default=dict, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True, null=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result_code = models.CharField(max_length=10, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.path} {self.result_code or self.error}"
