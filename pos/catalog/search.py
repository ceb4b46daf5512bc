"""Product search for the till, the API and the back office: any word or part of a word of the name, the
SKU or the barcode, ranked.

Rank (best first):
    0  the barcode or the SKU is exactly the text (a typed code)
    1  the name starts with the text ("brookside m")
    2  every word of the text starts a word of the name ("milk" in "Brookside Milk 500ml")
    3  every word of the text is inside the name, SKU or barcode ("ilk", "500ml", "-001", "6161")
then by name. When nothing contains the text, PostgreSQL answers what is spelt like it instead ("sugr",
"brokside"): pg_trgm's word similarity, most similar first.

A text of one character is no search; one of two characters (shorter than a trigram) finds only the
names, SKUs and barcodes that start with it.

On PostgreSQL a trigram GIN index (migration 0002) over lower(name || ' ' || sku || ' ' || barcode)
answers substring tests (LIKE '%word%') and the word-similarity operator (%>), a b-tree over upper(name)
(migration 0005) name prefixes, the unique b-tree indexes exact codes and code prefixes. A text that
matches everything ("product", "pr" on 100k products) is not ranked whole: each rank contributes its first
CANDIDATES rows by name (`_candidates`), so a search stays a few milliseconds whatever it matches
(bench/bench_search.py). On SQLite (the embedded default) the same ranking runs over a plain contains
search, without typo tolerance.
"""

from django.db import connection
from django.db.models import BooleanField, Case, F, FloatField, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL

from pos.catalog.models import Product

SEARCH_LIMIT = 20
CANDIDATES = 200  # per rank, on PostgreSQL: at most 200 results are ranked exactly (a page or ten)
MAX_TEXT = 60
MIN_LENGTH = 2
TRIGRAM_LENGTH = 3  # pg_trgm indexes 3-character pieces: a shorter text is only searched as a prefix
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


def _exact(text):
    return Q(barcode=text) | Q(sku__in={text, text.upper()})


def _short(text):
    return len(text) < TRIGRAM_LENGTH


def _tiers(text, words):
    """The condition of each rank (best first), each a subset of the matches of the ranks before it and its
    own. A text shorter than TRIGRAM_LENGTH (no trigram: no index can find it inside words) matches only
    what starts with it: a name, a SKU, a barcode."""
    if _short(text):
        return [_exact(text), Q(name__istartswith=text),
                Q(sku__startswith=text) | Q(sku__startswith=text.upper()) | Q(barcode__startswith=text)]
    contains = _contains_all(words)
    return [_exact(text), Q(name__istartswith=text) & contains, _word_prefixes(words) & contains, contains]


def _ranked(queryset, text, words, ordered, pks=None):
    tiers = _tiers(text, words)
    match = Q(pk__in=pks) if pks is not None else tiers[0] | tiers[-1] | (tiers[1] if _short(text) else Q())
    queryset = queryset.filter(match).annotate(search_rank=Case(
        When(tiers[0], then=Value(0)),
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


def _candidates(queryset, text, words):
    """The pks of at most CANDIDATES products of each rank, the first by name (PostgreSQL, one query).

    Ranking every match of a text that matches everything ("product" on 100k products) sorts 100k rows
    to show 20. Instead each rank's condition takes its first CANDIDATES rows by name, from an index (the
    name b-tree walked in order while the text is common, the trigram GIN index while it is rare), and
    only their union is ranked. The first CANDIDATES results are exactly those of ranking everything: a
    row of rank r left out of its condition's first CANDIDATES comes after CANDIDATES rows of rank r or
    better."""
    queryset = queryset.order_by()
    parts = [queryset.filter(condition).order_by("name", "pk").values("pk")[:CANDIDATES]
             for condition in _tiers(text, words)]
    return [row["pk"] for row in parts[0].union(*parts[1:], all=False)]


def rank_search(queryset, text, *, ordered=True):
    """`queryset` narrowed to the products matching `text` and ordered by rank (see the module's doc).

    The spelling-tolerant search (PostgreSQL) answers only when nothing contains the text: a typo finds
    what was meant, and a search that finds things is not buried under look-alikes (nor slowed by
    ranking them). A text shorter than two characters matches nothing; one shorter than three only what
    starts with it. The answer is a queryset, so the API paginates and filters it like any other list;
    `ordered=False` keeps the queryset's own ordering (an explicit ?ordering= in the API), and then every
    match is in it. Ordered by rank on PostgreSQL, it holds the first CANDIDATES of each rank (_candidates).
    """
    text = clean_text(text)
    if len(text) < MIN_LENGTH:
        return queryset.none()
    words = text.split(" ")
    if not _postgres():
        return _ranked(queryset, text, words, ordered)
    if not ordered:
        ranked = _ranked(queryset, text, words, ordered)
        # count(), not exists(): with LIMIT 1 PostgreSQL bets on a sequential scan finding a row early,
        # which for a rare text reads the whole table (measured 280 ms on 100k products instead of 3 ms).
        return ranked if _short(text) or ranked.count() else _similar(queryset, text, ordered)
    pks = _candidates(queryset, text, words)
    if pks or _short(text):
        return _ranked(queryset, text, words, ordered, pks)
    return _similar(queryset, text, ordered)


def search_products(text, *, limit=SEARCH_LIMIT, queryset=None):
    """The till's search: at most `limit` active products matching `text`, best first (one query; on
    PostgreSQL two, the candidates then their page, or the spelling-tolerant search when there is none)."""
    if queryset is None:
        queryset = Product.objects.active().select_related("category")
    text = clean_text(text)
    if len(text) < MIN_LENGTH:
        return []
    words = text.split(" ")
    if not _postgres():
        return list(_ranked(queryset, text, words, True)[:limit])
    pks = _candidates(queryset, text, words)
    if pks or _short(text):
        return list(_ranked(queryset, text, words, True, pks)[:limit])
    return list(_similar(queryset, text, True)[:limit])
