"""Properties of refunds through the real services: whatever the deposits, dates and bank failures,
every instruction pays principal + interest (interest = the finance.interest figure, never negative),
the escrow account pays out exactly what succeeded, and the ledger checks clean."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.db import transaction
from gateway.deposits.refunds import settle_instruction
from gateway.finance import section_events
from gateway.finance.interest import interest_fen
from ledger import Ledger
from tests.deposits.deposit_factories import CENTER, World, today

deposits = st.lists(st.integers(min_value=1, max_value=10**11), min_size=1, max_size=4)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=deposits,
    days_to_signing=st.integers(min_value=0, max_value=800),
    days_to_refund=st.integers(min_value=0, max_value=10),
    failing=st.sets(st.integers(min_value=0, max_value=3)),
)
def test_refunds_pay_principal_plus_interest_and_nothing_else(
    world: World, amounts: list[int], days_to_signing: int, days_to_refund: int, failing: set[int]
) -> None:
    book = Ledger(world.container.engine)
    escrow = f"center:{CENTER}:escrow_bank"
    start_balance = book.balance(escrow).net if book.accounts(prefix=escrow) else 0
    value_day = today(world)
    # The bank's interest credits fund the interest (1% covers 0.35% a year for the 810 days at most).
    credit = world.finance_post("/finance/v1/escrow-interest-credits", {
        "bank_reference": f"JX-{world.clock().timestamp()}", "amount_fen": sum(amounts) // 100 + 1,
        "value_date": value_day.isoformat()})  # fmt: skip
    assert credit.status_code == 201, credit.text
    income = book.balance(f"center:{CENTER}:escrow_interest_income").net
    sections = [world.add_section(deposit_fen=amount) for amount in amounts]
    for index, section in enumerate(sections):
        response = world.notice(section, index + 1, amount_fen=amounts[index])
        assert response.json()["outcome"] == "matched", response.text
    world.clock.advance(days=days_to_signing)
    with transaction(world.container.sessions) as session:
        for section in sections:
            section_events.on_contract_signed(session, section, signed_on=today(world), now=world.clock())
    world.clock.advance(days=days_to_refund)
    batch = world.finance_post("/finance/v1/refund-batches", {}).json()
    assert batch["count"] == len(amounts)
    paid = 0
    for position, instruction in enumerate(sorted(batch["instructions"], key=lambda i: i["id"])):
        interest = interest_fen(instruction["principal_fen"], value_day, today(world))
        assert instruction["interest_fen"] == interest >= 0
        assert instruction["amount_fen"] == instruction["principal_fen"] + interest
        succeeded = position not in failing
        with transaction(world.container.sessions) as session:
            settle_instruction(
                session, instruction["id"], succeeded=succeeded, bank_reference="B", now=world.clock()
            )
        paid += instruction["amount_fen"] if succeeded else 0
    funded = sum(amounts) // 100 + 1
    assert start_balance + funded + sum(amounts) - book.balance(escrow).net == paid
    assert income >= funded
    assert book.balance(escrow).debits_pending == book.balance(escrow).credits_pending == 0
    assert book.check().violations == ()
    # Leave nothing refundable for the next example.
    leftover = world.finance_get("/finance/v1/deposits", status="refundable").json()
    if leftover:
        again = world.finance_post("/finance/v1/refund-batches", {}).json()
        for instruction in again["instructions"]:
            with transaction(world.container.sessions) as session:
                settle_instruction(
                    session, instruction["id"], succeeded=True, bank_reference="B", now=world.clock()
                )
    world.clock.advance(days=1)
