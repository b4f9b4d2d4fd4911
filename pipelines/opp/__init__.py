"""Participatory observation (« observation participative et partagée ») : structures describe themselves every
year through a personal link, or come by themselves (direct welcome); what they submit waits for an analyst's
review and then goes through the ingestion path like any file.

* `tokens`: the invitation links (a secret token per structure and campaign, stored hashed, expiring,
  revocable) and their check, in constant time;
* `submissions`: the review queue (what a structure submitted, what it changes, accept through ingestion
  or refuse).
"""
