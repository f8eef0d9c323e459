"""Delivery evidence: receipts at the delivery point, uploaded files, disputes, and what a
delivery's dispute bundle carries besides its log."""
