"""swe-mini tasks on the `ledgerly` repository (bookkeeping and inventory)."""

from benchmarks.swe_mini.make_tasks import Spec

TASKS = [
    Spec(
        number=1,
        difficulty="easy",
        statement="""
Money rounds half-cent amounts down instead of up

Our invoices are computed with `Money` and the totals disagree with what the customer's
accounting software shows. Smallest reproduction:

```python
>>> from ledgerly import Money
>>> Money("0.125", "USD")
Money('0.12', 'USD')
>>> Money("2.675", "EUR")
Money('2.68', 'EUR')
```

The docs of `ledgerly.money` say rounding is half-up "as on invoices, never banker's
rounding", so `Money("0.125", "USD")` should be `Money('0.13', 'USD')`. It looks like
ties go to the even cent.
""",
        bug=[
            (
                "ledgerly/money.py",
                "from decimal import ROUND_HALF_UP, Decimal, InvalidOperation",
                "from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation",
            ),
            (
                "ledgerly/money.py",
                "return amount.quantize(exponent, rounding=ROUND_HALF_UP)",
                "return amount.quantize(exponent, rounding=ROUND_HALF_EVEN)",
            ),
        ],
        tests={
            "tests/test_money.py": """
@pytest.mark.parametrize(
    "amount, currency, expected",
    [("0.125", "USD", "0.13"), ("0.135", "USD", "0.14"), ("-0.125", "EUR", "-0.13"), ("2.5", "JPY", "3"), ("0.0005", "BHD", "0.001")],
    ids=["usd-even", "usd-odd", "negative", "jpy", "bhd"],
)
def test_rounding_is_half_up(amount, currency, expected):
    assert Money(amount, currency).amount == Decimal(expected)
"""
        },
    ),
    Spec(
        number=2,
        difficulty="easy",
        statement="""
`Money.allocate` gives all leftover cents to the last part

Splitting 100 EUR three ways:

```python
>>> Money("100", "EUR").allocate([1, 1, 1])
[Money('33.33', 'EUR'), Money('33.33', 'EUR'), Money('33.34', 'EUR')]
```

The docstring says the leftover units go one each to the *first* parts, i.e.
33.34, 33.33, 33.33. With 4 parts of 0.10 EUR split 3 ways it gets worse: the last part
receives both leftover cents (0.03, 0.03, 0.04 instead of 0.04, 0.03, 0.03).
We rely on the documented order for splitting rent between flatmates.
""",
        bug=[
            (
                "ledgerly/money.py",
                "        for i in range(remainder):\n            shares[i] += 1\n",
                "        shares[-1] += remainder\n",
            )
        ],
        tests={
            "tests/test_money.py": """
def test_allocate_gives_leftover_units_to_first_parts():
    assert Money("100", "EUR").allocate([1, 1, 1]) == [Money("33.34", "EUR"), Money("33.33", "EUR"), Money("33.33", "EUR")]
    assert Money("0.10", "EUR").allocate([1, 1, 1]) == [Money("0.04", "EUR"), Money("0.03", "EUR"), Money("0.03", "EUR")]


def test_allocate_never_loses_a_unit():
    parts = Money("1000", "JPY").allocate([1, 2, 4])
    assert sum((p for p in parts), Money.zero("JPY")) == Money("1000", "JPY")
    assert parts == [Money("143", "JPY"), Money("286", "JPY"), Money("571", "JPY")]
"""
        },
    ),
    Spec(
        number=3,
        difficulty="easy",
        statement="""
Yen amounts are printed with decimals

`Money(1500, "JPY").format()` returns `'¥1,500.00'`. The yen has no minor unit, it should
print `'¥1,500'`. Same for the three-decimal currencies: `Money("1.5", "BHD").format()`
gives `'1.50 BHD'` but should be `'1.500 BHD'`. The stored amount is right, only the
formatting is wrong.
""",
        bug=[
            (
                "ledgerly/money.py",
                "        places = minor_units(self.currency)\n        digits",
                "        places = 2\n        digits",
            )
        ],
        tests={
            "tests/test_money.py": """
def test_format_uses_the_currency_minor_unit():
    assert Money(1500, "JPY").format() == "¥1,500"
    assert Money("-1234567", "JPY").format() == "-¥1,234,567"
    assert Money("1.5", "BHD").format() == "1.500 BHD"
    assert Money("2", "KWD").format(symbol=False) == "2.000 KWD"
"""
        },
    ),
    Spec(
        number=4,
        difficulty="medium",
        statement="""
balance(as_of=...) ignores the transactions of that very day

I'm reconciling against bank statements, which show the balance at the end of each day.

```python
ledger.post(date(2024, 3, 31), "Card settlement", [("liabilities:card", Money("250", "EUR")), ("assets:bank", Money("-250", "EUR"))])
ledger.balance("assets:bank", as_of=date(2024, 3, 31))
```

The result does not include the 31 March settlement; I only see it if I pass
`date(2024, 4, 1)`. The docstring of `Ledger.balance` says "up to and including as_of".
I think `Ledger.transactions(end=...)` has the same problem, and the trial balance for a
month end is off too.
""",
        bug=[
            (
                "ledgerly/ledger.py",
                "            if end is not None and txn.date > end:",
                "            if end is not None and txn.date >= end:",
            )
        ],
        tests={
            "tests/test_ledger.py": """
def test_balance_as_of_includes_that_day(ledger):
    assert ledger.balance("assets:bank", as_of=date(2024, 1, 15)) == {"EUR": eur("1500")}
    assert ledger.balance("expenses", as_of=date(2024, 2, 1)) == {"EUR": eur("700")}


def test_transactions_end_is_inclusive(ledger):
    found = list(ledger.transactions(start=date(2024, 1, 15), end=date(2024, 2, 1)))
    assert [t.description for t in found] == ["Invoice 1", "Rent February"]
"""
        },
    ),
    Spec(
        number=5,
        difficulty="medium",
        statement="""
Wrong balance for assets:cash

We keep petty cash in `assets:cash` and the shop till in `assets:cashbox`. Since we
added the till, the petty cash balance is way too high, it looks like it includes
money that is in the till. Other accounts seem fine. The account tree report shows the
same wrong number for cash.
""",
        bug=[
            (
                "ledgerly/accounts.py",
                'return name == parent or name.startswith(parent + ":")',
                "return name.startswith(parent)",
            )
        ],
        tests={
            "tests/test_ledger.py": """
def test_sibling_with_common_prefix_is_not_a_sub_account(ledger):
    ledger.open("assets:cashbox", "asset")
    ledger.post(date(2024, 3, 1), "Till float", [("assets:cashbox", eur("150")), ("assets:bank", eur("-150"))])
    ledger.post(date(2024, 3, 2), "Petty cash", [("assets:cash", eur("20")), ("assets:bank", eur("-20"))])
    assert ledger.balance("assets:cash") == {"EUR": eur("20")}
    assert ledger.balance("assets:cashbox") == {"EUR": eur("150")}
    assert ledger.balance("assets") == {"EUR": eur("800")}
    assert [t.description for t in ledger.transactions(account="assets:cash")] == ["Petty cash"]
"""
        },
    ),
    Spec(
        number=6,
        difficulty="medium",
        statement="""
Debits in parentheses are imported as credits

My bank (Sparkasse CSV export) writes outgoing payments as `(42.10)` instead of `-42.10`.
After `import_statement` the bank balance goes *up* for every payment. The module docstring
says `'(12.00)'` is a debit, so I guess this is supposed to work?

```
date,description,amount
2024-03-01,CARD PAYMENT OFFICE DEPOT,(42.10)
```
""",
        bug=[
            (
                "ledgerly/csvio.py",
                "    return -value if negative else value\n",
                "    return value\n",
            )
        ],
        tests={
            "tests/test_csvio.py": """
def test_parse_amount_parentheses_are_negative():
    assert parse_amount("(12.00)") == Decimal("-12.00")
    assert parse_amount(" (1,000.5) ") == Decimal("-1000.5")


def test_import_statement_with_parenthesized_debits(ledger):
    text = "date,description,amount\\n2024-03-01,CARD PAYMENT OFFICE DEPOT,(42.10)\\n"
    import_statement(ledger, io.StringIO(text), "assets:bank", {"office depot": "expenses:office"})
    assert ledger.balance("assets:bank") == {"EUR": Money("757.90", "EUR")}
    assert ledger.balance("expenses:office") == {"EUR": Money("67.50", "EUR")}
"""
        },
    ),
    Spec(
        number=7,
        difficulty="easy",
        statement="""
StatementError on amounts with a thousands separator

Importing a statement that has a salary line fails:

```
Traceback (most recent call last):
  File "import_march.py", line 12, in <module>
    import_statement(ledger, f, "assets:bank", RULES)
  File ".../ledgerly/csvio.py", line 70, in import_statement
    raise StatementError(f"line {line}: {exc}") from None
ledgerly.csvio.StatementError: line 4: not an amount: '3,250.00'
```

The row is `2024-03-28,SALARY MARCH,"3,250.00"`. According to the docs `1,234.50` is a
valid amount.
""",
        bug=[
            (
                "ledgerly/csvio.py",
                'cleaned = text.strip().replace(",", "").replace(" ", "")',
                'cleaned = text.strip().replace(" ", "")',
            )
        ],
        tests={
            "tests/test_csvio.py": """
def test_parse_amount_thousands_separator():
    assert parse_amount("1,234.50") == Decimal("1234.50")
    assert parse_amount("-12,000") == Decimal("-12000")


def test_import_statement_with_thousands_separator(ledger):
    text = 'date,description,amount\\n2024-03-28,SALARY MARCH,"3,250.00"\\n'
    import_statement(ledger, io.StringIO(text), "assets:bank", {"salary": "income:sales"})
    assert ledger.balance("assets:bank") == {"EUR": Money("4050", "EUR")}
"""
        },
    ),
    Spec(
        number=8,
        difficulty="hard",
        statement="""
Cost of goods sold looks off

Our margins report went weird after the price increase from our supplier. Sales that
come out of several deliveries seem to be costed wrong, and the stock value left after
them doesn't add up either. Single-delivery SKUs look fine.
""",
        bug=[
            (
                "ledgerly/inventory.py",
                "        cost = Money.zero(self.currency)\n        remaining = quantity\n        while remaining:\n            lot = lots[0]\n            taken = min(lot.quantity, remaining)\n            cost += lot.unit_cost * taken\n",
                "        cost = lots[0].unit_cost * quantity\n        remaining = quantity\n        while remaining:\n            lot = lots[0]\n            taken = min(lot.quantity, remaining)\n",
            )
        ],
        tests={
            "tests/test_inventory.py": """
def test_issue_spanning_lots_is_costed_fifo(stock):
    stock.receive("mug", 5, eur("3.00"), date(2024, 2, 1))
    stock.receive("mug", 5, eur("4.00"), date(2024, 3, 1))
    assert stock.issue("mug", 12) == eur("26.00")
    assert stock.on_hand("mug") == 8
    assert stock.value("mug") == eur("29.00")
    assert stock.issue("mug", 8) == eur("29.00")


def test_total_cost_of_issues_equals_cost_of_receipts():
    inv = Inventory("EUR")
    inv.receive("bolt", 3, eur("0.10"), date(2024, 1, 1))
    inv.receive("bolt", 4, eur("0.25"), date(2024, 1, 2))
    total = inv.issue("bolt", 2) + inv.issue("bolt", 2) + inv.issue("bolt", 3)
    assert total == eur("1.30")
"""
        },
    ),
    Spec(
        number=9,
        difficulty="hard",
        statement="""
Lower-case currency codes break things

Our POS exports currency codes in lower case (`eur`). Since then odd things happen:
importing a statement with a `currency` column full of `eur` gives balances keyed by both
`'eur'` and `'EUR'`, adding amounts fails with `CurrencyMismatch: EUR and eur`, and
`Inventory("eur")` refuses deliveries priced in EUR. Currency codes should not be case
sensitive anywhere.
""",
        bug=[
            (
                "ledgerly/money.py",
                "        currency = currency.upper()\n        object.__setattr__",
                "        object.__setattr__",
            ),
            (
                "ledgerly/inventory.py",
                "        self.currency = currency.upper()\n",
                "        self.currency = currency\n",
            ),
        ],
        tests={
            "tests/test_money.py": """
def test_currency_code_is_case_insensitive():
    assert Money("1", "eur") == Money("1", "EUR")
    assert Money("1", "eur").currency == "EUR"
    assert Money("1", "eur") + Money("2", "EUR") == Money("3", "EUR")
    assert Money("1", "usd").format() == "$1.00"
""",
            "tests/test_csvio.py": """
def test_import_statement_lower_case_currency(ledger):
    text = "date,description,amount,currency\\n2024-03-01,Client,10,eur\\n"
    import_statement(ledger, io.StringIO(text), "assets:bank", {"client": "income:sales"})
    assert ledger.balance("assets:bank") == {"EUR": Money("810", "EUR")}
""",
            "tests/test_inventory.py": """
def test_inventory_currency_is_case_insensitive():
    inv = Inventory("eur")
    inv.receive("cup", 2, eur("1.25"), date(2024, 1, 1))
    assert inv.value() == eur("2.50")
""",
        },
    ),
]
