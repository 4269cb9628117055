package brokers

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/surge-autoscaler/surge/test/harness"
)

// Kafka is an in-process Kafka-protocol broker (kfake) on 127.0.0.1 with one node.
// Its listener can be cut and restored for fault tests.
type Kafka struct {
	// Addr is host:port of the broker.
	Addr string
	// Cluster is the kfake cluster, for creating topics and inspecting groups.
	Cluster *kfake.Cluster

	gate *gateListener
}

// StartKafka starts a one-node kfake cluster on a free 127.0.0.1 port. opts are
// passed to kfake (e.g. kfake.EnableSASL, kfake.Superuser, kfake.SeedTopics).
// kfake differs from Kafka in one way the lag code meets: OffsetFetch for a group
// that never committed answers GROUP_ID_NOT_FOUND instead of offset -1 per partition.
func StartKafka(ctx context.Context, opts ...kfake.Opt) (*Kafka, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	k := &Kafka{}
	listen := func(network, addr string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		k.gate = &gateListener{Listener: l, conns: map[net.Conn]struct{}{}}
		return k.gate, nil
	}
	all := append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.ListenFn(listen)}, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	k.Cluster = c
	k.Addr = c.ListenAddrs()[0]
	return k, nil
}

// Pause closes every open connection to the broker and refuses new ones (each is
// closed as soon as it is accepted) until Resume: to a client the broker is down.
func (k *Kafka) Pause() { k.gate.setPaused(true) }

// Resume lets connections through again.
func (k *Kafka) Resume() { k.gate.setPaused(false) }

// Stop shuts the cluster down.
func (k *Kafka) Stop() error {
	k.Cluster.Close()
	return nil
}

// gateListener wraps the broker's listener so connections can be cut.
type gateListener struct {
	net.Listener
	mu     sync.Mutex
	paused bool
	conns  map[net.Conn]struct{}
}

func (g *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		if g.paused {
			g.mu.Unlock()
			c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, g: g}
		g.conns[tc] = struct{}{}
		g.mu.Unlock()
		return tc, nil
	}
}

func (g *gateListener) setPaused(p bool) {
	g.mu.Lock()
	g.paused = p
	var cut []net.Conn
	if p {
		for c := range g.conns {
			cut = append(cut, c)
		}
	}
	g.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	g    *gateListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		delete(c.g.conns, c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}
