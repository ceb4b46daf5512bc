"""One definition of each shared business notion, used everywhere (DESIGN.md, "One way to do each thing"):
the sale statuses that count as sold, low stock, the default VAT rate."""

import ast
from pathlib import Path

from pos.sales.models import SOLD_STATUSES, SaleStatus

ROOT = Path(__file__).resolve().parents[2]


def _sources():
    for path in sorted(ROOT.glob("pos/**/*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text())


def _element_name(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def test_sold_statuses_are_paid_and_whatever_came_back_after():
    assert set(SOLD_STATUSES) == {SaleStatus.PAID, SaleStatus.PARTIALLY_RETURNED, SaleStatus.RETURNED}


def test_no_module_keeps_its_own_list_of_the_statuses_that_count_as_sold():
    copies = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                names = {_element_name(e) for e in node.elts}
                if {"paid", "partially_returned", "returned"} <= {str(n).lower() for n in names if n}:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert copies == ["pos/sales/models.py:" + str(_definition_line())]


def _definition_line():
    tree = ast.parse((ROOT / "pos/sales/models.py").read_text())
    return next(node.value.lineno for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SOLD_STATUSES")
