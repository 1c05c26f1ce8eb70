"""Cash bid deposits (投标保证金) on the center's escrow account: sub-accounts, deposit notices, the
exception queue, refunds with interest, forfeits, and the finance API over them (issue #8)."""
