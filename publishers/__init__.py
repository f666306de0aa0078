"""Publishers: departmental digests, offboarding alerts, re-engagement lists and CRM write-back.

They only read marts (through ``churnkb.warehouse.read_connection``) and record every send in a
publication ledger so a retry never sends the same thing twice.
"""
