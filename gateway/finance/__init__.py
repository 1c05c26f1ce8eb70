"""Center finance (交易中心财务): deposit interest, escrow sub-accounts, statement matching."""
