"""Product search for the till, the API and the back office: any word or part of a word of the name, the
SKU or the barcode, ranked.

Rank (best first):
    0  the barcode or the SKU is exactly the text (a typed code)
    1  the name starts with the text ("brookside m")
    2  every word of the text starts a word of the name ("milk" in "Brookside Milk 500ml")
    3  every word of the text is inside the name, SKU or barcode ("ilk", "500ml", "-001", "6161")
then by name. When nothing contains the text, PostgreSQL answers what is spelt like it instead ("sugr",
"brokside"): pg_trgm's word similarity, most similar first.

On PostgreSQL one query answers it with a trigram GIN index (migration 0002) over
lower(name || ' ' || sku || ' ' || barcode): substring tests (LIKE '%word%') and the word-similarity
operator (%>) are both answered from that index, exact codes from the unique b-tree indexes, so a search
stays a few milliseconds on a 100k-product catalogue (bench/bench_search.py; a word that every product
has is the slow case: all of them are ranked to show one page). On SQLite (the embedded
default) the same ranking runs over a plain contains search, without typo tolerance.
"""

from django.db import connection
from django.db.models import BooleanField, Case, F, FloatField, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL

from pos.catalog.models import Product

SEARCH_LIMIT = 20
MAX_TEXT = 60
MIN_LENGTH = 2
# The indexed expression of migration 0002 (keep both identical, or PostgreSQL will not use the index).
HAYSTACK = ("lower(\"catalog_product\".\"name\" || ' ' || \"catalog_product\".\"sku\" || ' ' || "
            "coalesce(\"catalog_product\".\"barcode\", ''))")


def clean_text(text) -> str:
    """Collapse spaces, drop control characters (a NUL cannot even reach PostgreSQL), cut to MAX_TEXT."""
    text = "".join(ch for ch in str(text or "") if ch.isprintable() or ch.isspace())
    return " ".join(text.split())[:MAX_TEXT]


def _like_escape(word):
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _postgres():
    return connection.vendor == "postgresql"


def _contains_all(words):
    """Every word somewhere in the name, SKU or barcode (case-insensitive)."""
    if _postgres():
        condition = Q()
        for word in words:
            condition &= Q(RawSQL(f"{HAYSTACK} LIKE %s", [f"%{_like_escape(word.lower())}%"],
                                  output_field=BooleanField()))
        return condition
    condition = Q()
    for word in words:
        condition &= Q(name__icontains=word) | Q(sku__icontains=word) | Q(barcode__icontains=word)
    return condition


def _word_prefixes(words):
    """Every word of the text starts a word of the name (after a space or a hyphen: "Coca-Cola")."""
    condition = Q()
    for word in words:
        condition &= Q(name__istartswith=word) | Q(name__icontains=f" {word}") | Q(name__icontains=f"-{word}")
    return condition


def _ranked(queryset, text, words, ordered):
    exact = Q(barcode=text) | Q(sku__in={text, text.upper()})
    contains = _contains_all(words)
    queryset = queryset.filter(exact | contains).annotate(search_rank=Case(
        When(exact, then=Value(0)),
        When(name__istartswith=text, then=Value(1)),
        When(_word_prefixes(words), then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    ))
    return queryset.order_by("search_rank", "name", "pk") if ordered else queryset


def _similar(queryset, text, ordered):
    # "hay %> text" is "text <% hay" (word similarity at least pg_trgm.word_similarity_threshold, 0.6),
    # written with the indexed expression on the left so that the GIN index answers it.
    text = text.lower()
    queryset = queryset.filter(RawSQL(f"{HAYSTACK} %%> %s", [text], output_field=BooleanField())).annotate(
        search_rank=Value(4, output_field=IntegerField()),
        search_similarity=RawSQL(f"word_similarity(%s, {HAYSTACK})", [text], output_field=FloatField()))
    return queryset.order_by(F("search_similarity").desc(), "name", "pk") if ordered else queryset


def rank_search(queryset, text, *, ordered=True):
    """`queryset` narrowed to the products matching `text` and ordered by rank (see the module's doc).

    The spelling-tolerant search (PostgreSQL) answers only when nothing contains the text: a typo finds
    what was meant, and a search that finds things is not buried under look-alikes (nor slowed by
    ranking them). A text shorter than two characters matches nothing. The answer is a queryset, so the
    API paginates and filters it like any other list; `ordered=False` keeps the queryset's own ordering
    (an explicit ?ordering= in the API).
    """
    text = clean_text(text)
    if len(text) < MIN_LENGTH:
        return queryset.none()
    ranked = _ranked(queryset, text, text.split(" "), ordered)
    # count(), not exists(): with LIMIT 1 PostgreSQL bets on a sequential scan finding a row early, which
    # for a rare text reads the whole table (measured 280 ms on 100k products instead of 3 ms).
    if not _postgres() or ranked.count():
        return ranked
    return _similar(queryset, text, ordered)


def search_products(text, *, limit=SEARCH_LIMIT, queryset=None):
    """The till's search: at most `limit` active products matching `text`, best first (one query, two
    when nothing contains the text and the spelling-tolerant search is tried on PostgreSQL)."""
    if queryset is None:
        queryset = Product.objects.active().select_related("category")
    text = clean_text(text)
    if len(text) < MIN_LENGTH:
        return []
    found = list(_ranked(queryset, text, text.split(" "), True)[:limit])
    if found or not _postgres():
        return found
    return list(_similar(queryset, text, True)[:limit])
