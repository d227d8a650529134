-- The projection of the SHIPMENTS stream: one row per shipment (current
-- state) and one row per normalized event (history). Every object is named
-- unqualified: Migrate runs each file with search_path set to the target
-- schema, waybill for the live projection or waybill_rebuild for a replay, so
-- the DDL is written once.
--
-- Identifiers (ids, keys, carrier codes, tracking numbers, reference values)
-- are text COLLATE "C": they compare bytewise, as tracking.Before compares
-- ids, sort and index faster than under a linguistic collation, and their
-- btree indexes serve prefix search (LIKE 'ABC%', ^@) whatever the
-- database's collation.

CREATE TABLE shipment_events (
    id                    text COLLATE "C" PRIMARY KEY,
    shipment_key          text COLLATE "C" NOT NULL,
    carrier               text COLLATE "C" NOT NULL,
    tracking_number       text COLLATE "C" NOT NULL,
    status                text        NOT NULL,
    -- tracking.Status.Rank at write time: the taxonomy lives in Go only. A
    -- change of ranks takes a replay.
    status_rank           smallint    NOT NULL,
    substatus             text,
    carrier_status        text,
    message               text,
    occurred_at           timestamptz NOT NULL,
    occurred_at_precision text        NOT NULL,
    local_time            text,
    timezone              text,
    timezone_source       text,
    timezone_inferred     boolean     NOT NULL,
    location              jsonb       NOT NULL DEFAULT '{}',
    source                text        NOT NULL,
    raw_event_id          text,
    -- The event's references (order ids, partner refs, device ids); named
    -- refs like shipments.refs because REFERENCES is a reserved word.
    refs                  jsonb       NOT NULL DEFAULT '{}',
    -- As the carrier gave it: a date or a timestamp.
    estimated_delivery    text,
    late                  boolean     NOT NULL,
    received_at           timestamptz NOT NULL
);

-- A shipment's timeline, and the scan that recomputes its row.
CREATE INDEX shipment_events_timeline ON shipment_events (shipment_key, occurred_at);

-- Every column is a function of the shipment's set of events (see
-- projection.Store.Apply), except updated_at and stalled_at.
CREATE TABLE shipments (
    shipment_key       text COLLATE "C" PRIMARY KEY,
    carrier            text COLLATE "C" NOT NULL,
    tracking_number    text COLLATE "C" NOT NULL,
    -- The latest event by (occurred_at, status_rank, id):
    status             text        NOT NULL,
    status_rank        smallint    NOT NULL,
    status_at          timestamptz NOT NULL,
    last_event_id      text COLLATE "C" NOT NULL,
    -- status_at when that latest event is a delivery, else null.
    delivered_at       timestamptz,
    -- The estimate of the latest event that carries one.
    estimated_delivery text,
    -- Union of the events' references; on a name clash the later event wins.
    refs               jsonb       NOT NULL DEFAULT '{}',
    event_count        integer     NOT NULL,
    -- The earliest carrier time of any event.
    first_seen_at      timestamptz NOT NULL,
    -- Set when a stall alert was sent for the current state; cleared when a
    -- newer event changes the state.
    stalled_at         timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shipments_by_status ON shipments (status, status_at DESC, shipment_key);
CREATE INDEX shipments_by_carrier ON shipments (carrier, status_at DESC, shipment_key);
CREATE INDEX shipments_by_status_at ON shipments (status_at DESC, shipment_key);
CREATE INDEX shipments_by_tracking_number ON shipments (tracking_number);
-- Stall scans: shipments in a non-terminal state with no alert sent yet,
-- oldest first. The list is DESIGN.md's terminal set (tracking.Status.Terminal);
-- a test keeps the two in step.
CREATE INDEX shipments_stall_scan ON shipments (status_at)
    WHERE stalled_at IS NULL
      AND status NOT IN ('delivered', 'returned', 'failed', 'cancelled', 'expired');

-- Every reference value any event of a shipment carried, so a console finds
-- a shipment by order id, partner ref or device id, exactly or by prefix
-- (value LIKE 'ORD-12%', value ^@ 'ORD-12'), through the primary key.
CREATE TABLE shipment_refs (
    shipment_key text COLLATE "C" NOT NULL,
    name         text COLLATE "C" NOT NULL,
    value        text COLLATE "C" NOT NULL,
    PRIMARY KEY (value, shipment_key, name)
);
