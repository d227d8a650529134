package deadletter_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/deadletter"
)

func TestNewReadRedrive(t *testing.T) {
	orig := &nats.Msg{
		Subject: "raw.carriyo",
		Header: nats.Header{
			"ce-id": {"e1"}, "ce-source": {"/webhooks/carriyo"}, "ce-type": {"com.carriyo.shipment.delivered"},
			"Content-Type": {"application/json"}, nats.MsgIdHdr: {"abc"},
		},
		Data: []byte(`{"broken": `),
	}
	dl := deadletter.New("normalizer", "carriyo", "unexpected end of JSON: 100% sure", orig)
	if dl.Subject != "deadletter.normalizer.carriyo" {
		t.Errorf("subject %q", dl.Subject)
	}
	if string(dl.Data) != string(orig.Data) || dl.Header.Get("ce-id") != "e1" {
		t.Error("dead letter must keep the original body and CloudEvent headers")
	}
	if id := dl.Header.Get(nats.MsgIdHdr); id == "" || id == "abc" {
		t.Errorf("msg id %q", id)
	}
	again := deadletter.New("normalizer", "carriyo", "other wording", orig)
	if again.Header.Get(nats.MsgIdHdr) != dl.Header.Get(nats.MsgIdHdr) {
		t.Error("one failure must dedup to one dead letter")
	}
	info := deadletter.Read(dl.Header)
	if info.Stage != "normalizer" || info.Subject != "raw.carriyo" || info.Reason != "unexpected end of JSON: 100% sure" {
		t.Errorf("info %+v", info)
	}
	back := deadletter.Redrive(dl.Header, dl.Data)
	if back.Subject != "raw.carriyo" || back.Header.Get("ce-dlreason") != "" || back.Header.Get(nats.MsgIdHdr) != "" ||
		back.Header.Get("ce-type") != "com.carriyo.shipment.delivered" || string(back.Data) != string(orig.Data) {
		t.Errorf("redrive %+v", back)
	}
}

func TestReasonBounded(t *testing.T) {
	dl := deadletter.New("ingress", "x", strings.Repeat("r", 10000), &nats.Msg{Subject: "raw.x", Header: nats.Header{}})
	if n := len(deadletter.Read(dl.Header).Reason); n > 600 {
		t.Errorf("reason of %d bytes", n)
	}
}
