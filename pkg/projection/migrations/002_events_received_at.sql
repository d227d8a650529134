-- The console's events-per-minute chart counts the events received in the
-- last hour; without this index that is a scan of the whole history on
-- every refresh.
CREATE INDEX shipment_events_received_at ON shipment_events (received_at);
