"""Business days on the State Council holiday calendar (`business_days`, data in `cn_holidays.json`)."""
