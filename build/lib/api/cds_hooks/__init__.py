"""CDS Hooks 2.0 service (order-select, order-sign): translates hook calls into the same checks
as the native API and their alerts into cards. No clinical judgment lives here."""
