package webhookload

import "time"

// stage is where a checkpoint is in a parcel's life; each provider names
// it in its own codes.
type stage int

const (
	stInfo      stage = iota // label created, carrier has the data
	stShipped                // first carrier scan
	stTransit                // arrival and departure scans
	stException              // a delay the parcel recovers from (or not)
	stOFD                    // out for delivery
	stAttempt                // delivery attempted
	stDelivered
	stRTS    // returning to sender
	stPickup // waiting at a pickup point
)

// place is a checkpoint's location, with the UTC offset its carrier
// reports local times in.
type place struct {
	city, state, zip string
	offset           int // hours
}

var hubs = []place{
	{"Earth City", "MO", "63045", -5}, {"Louisville", "KY", "40209", -4}, {"Memphis", "TN", "38118", -5},
	{"Indianapolis", "IN", "46241", -4}, {"Dallas", "TX", "75261", -5}, {"Phoenix", "AZ", "85043", -7},
	{"Ontario", "CA", "91761", -7}, {"Denver", "CO", "80239", -6}, {"Atlanta", "GA", "30354", -4},
	{"Secaucus", "NJ", "07094", -4}, {"Chicago", "IL", "60666", -5}, {"Salt Lake City", "UT", "84104", -6},
	{"Orlando", "FL", "32809", -4}, {"Sacramento", "CA", "95837", -7},
}

var destinations = []place{
	{"Belleair", "FL", "33756", -4}, {"Portsmouth", "NH", "03801", -4}, {"Cortland", "OH", "44410", -4},
	{"Springfield", "IL", "62701", -5}, {"Boulder", "CO", "80302", -6}, {"Tacoma", "WA", "98402", -7},
	{"Austin", "TX", "78701", -5}, {"Tucson", "AZ", "85701", -7}, {"Brooklyn", "NY", "11201", -4},
	{"Madison", "WI", "53703", -5}, {"Clearwater", "FL", "33755", -4}, {"Eugene", "OR", "97401", -7},
}

type checkpoint struct {
	stage stage
	at    time.Time // microsecond precision; spaced at least 30 minutes
	where place
}

// lifecycle draws n checkpoints (n >= 5): label created, a first scan,
// transit scans, and an ending: delivered (88%: 8% of them after a failed
// attempt), still in transit, returning to sender, waiting at a pickup
// point, or held by an exception. Carrier times increase strictly, by 30
// minutes to 14 hours a step, and all lie 1 to 20 days before now.
func (g *gen) lifecycle(n int) []checkpoint {
	var tail []stage
	switch p := g.r.Float64(); {
	case p < 0.80:
		tail = []stage{stOFD, stDelivered}
	case p < 0.88:
		tail = []stage{stOFD, stAttempt, stOFD, stDelivered}
	case p < 0.92:
		tail = nil // still moving
	case p < 0.95:
		tail = []stage{stOFD, stAttempt, stRTS}
	case p < 0.98:
		tail = []stage{stAttempt, stPickup}
	default:
		tail = []stage{stException}
	}
	if n-2-len(tail) < 0 {
		tail = []stage{stOFD, stDelivered}
	}
	stages := []stage{stInfo, stShipped}
	middle := n - 2 - len(tail)
	for k := 0; k < middle; k++ {
		if k > 0 && g.r.Float64() < 0.08 {
			stages = append(stages, stException)
		} else {
			stages = append(stages, stTransit)
		}
	}
	stages = append(stages, tail...)

	origin := hubs[g.r.IntN(len(hubs))]
	dest := destinations[g.r.IntN(len(destinations))]
	at := g.now.Add(-9*24*time.Hour - time.Duration(g.r.Int64N(int64(11*24*time.Hour)))).Truncate(time.Second)
	out := make([]checkpoint, len(stages))
	for k, st := range stages {
		if k > 0 {
			at = at.Add(30*time.Minute + time.Duration(g.r.Int64N(int64(13*time.Hour+30*time.Minute)))).Truncate(time.Second)
		}
		where := origin
		switch {
		case st >= stOFD:
			where = dest
		case st == stTransit || st == stException:
			if k == len(stages)-1 || g.r.Float64() < 0.3 {
				where = dest
			} else {
				where = hubs[g.r.IntN(len(hubs))]
			}
		}
		out[k] = checkpoint{stage: st, at: at.Add(time.Duration(g.r.IntN(1e6)) * time.Microsecond), where: where}
	}
	return out
}

// checkpoints draws a checkpoint count in [5, 15].
func (g *gen) checkpoints() int { return 5 + g.r.IntN(11) }

func (p place) zone() *time.Location {
	return time.FixedZone("", p.offset*3600)
}
