from django.core.management.base import BaseCommand, CommandError

from pos.inventory.services import ledger_mismatches


class Command(BaseCommand):
    help = "Check that every product's stock equals the sum of its movements (exit code 1 on a mismatch)."

    def handle(self, *args, **options):
        bad = list(ledger_mismatches().values_list("pk", "sku", "name", "stock_quantity", "ledger"))
        for pk, sku, name, stock, ledger in bad:
            self.stdout.write(f"MISMATCH product {pk} {sku} {name}: stock {stock}, movements sum {ledger}, "
                              f"difference {stock - ledger}")
        if bad:
            raise CommandError(f"{len(bad)} product(s) out of line with the ledger.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Stock matches the ledger for every product."))
