"""Publishers: departmental digests, offboarding alerts, re-engagement lists and CRM write-back.

They only read marts (through ``churnkb.warehouse.read_connection``) and record every send in a
publication ledger (intent before, result after), so a retry skips what was sent.
"""
