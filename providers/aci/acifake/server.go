// Package acifake is a simulated Azure Container Instances resource provider,
// served through the Azure SDK's own fake server (armcontainerinstance/fake on
// azcore's fake transport). Clients built with Server.Transport go through the
// real SDK pipeline (retry policy, long-running-operation pollers, pagers) and
// reach this simulation instead of Azure.
//
// It is a fake, not Azure: it implements the container group operations the aci
// backend uses, with ARM's observable behaviour where it matters to the backend
// (lists without instance views, secure values never returned, DELETE of a
// missing group answering 204, provisioning that succeeds or fails after a
// delay, restart policies, quota errors), and lets tests inject raw HTTP faults
// (429 with Retry-After, 5xx) below the SDK's retry policy. Error codes other than
// ResourceNotFound, InaccessibleImage and ContainerGroupQuotaReached are
// illustrative.
//
// Containers do what their image says (see images.go): run forever, exit with a
// code after Config.RunFor, or fail to pull.
package acifake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2/fake"
	"k8s.io/utils/clock"
)

// Config shapes the simulation. Zero values take the defaults noted.
type Config struct {
	// Clock drives every state change; default the real clock.
	Clock clock.PassiveClock
	// ProvisionDelay is how long a new group stays Creating; default 100 ms.
	ProvisionDelay time.Duration
	// RunFor is how long an exit image runs before exiting; default 300 ms.
	RunFor time.Duration
	// RestartDelay is the pause before a container is restarted; default 100 ms.
	RestartDelay time.Duration
	// PageSize is the number of groups per list page; default 20.
	PageSize int
	// CreateSteps is how many in-progress responses a create's long-running
	// operation gives before its terminal one, which never comes before the group
	// is provisioned; default 2. Negative: none, the PUT completes synchronously
	// and the group is provisioned at once (ProvisionDelay does not apply).
	CreateSteps int
	// DeleteSteps is the same for deletes; default 0 (synchronous, as ACI usually is).
	DeleteSteps int
	// MaxGroups, if positive, is the quota of groups per resource group; creates
	// beyond it fail with ContainerGroupQuotaReached.
	MaxGroups int
	// StartLine, if set, is printed to a container's log at the start of every
	// run, after the simulation's own "starting" line.
	StartLine string
	// ListIncludesInstanceView makes list results carry instance views. ARM's
	// list does not, so the default is false.
	ListIncludesInstanceView bool
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.ProvisionDelay <= 0 {
		c.ProvisionDelay = 100 * time.Millisecond
	}
	if c.RunFor <= 0 {
		c.RunFor = 300 * time.Millisecond
	}
	if c.RestartDelay <= 0 {
		c.RestartDelay = 100 * time.Millisecond
	}
	if c.PageSize <= 0 {
		c.PageSize = 20
	}
	if c.CreateSteps == 0 {
		c.CreateSteps = 2
	}
}

// Server is one simulated subscription. It is safe for concurrent use.
type Server struct {
	cfg       Config
	groupsSrv fake.ContainerGroupsServer
	factory   *fake.ServerFactoryTransport
	fakeMu    sync.Mutex                    // the SDK's fake pagers and pollers are not safe for concurrent use
	routes    map[string]policy.Transporter // under fakeMu; see route
	listSeq   int                           // under fakeMu

	mu     sync.Mutex
	groups map[string]*group // "rg/name", lowercase
	faults []*Fault
	calls  map[string]int // "API METHOD"
	ipSeq  int
}

// New returns a simulated ACI.
func New(cfg Config) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, groups: map[string]*group{}, calls: map[string]int{}, routes: map[string]policy.Transporter{}}
	s.groupsSrv = fake.ContainerGroupsServer{
		BeginCreateOrUpdate:         s.beginCreateOrUpdate,
		BeginDelete:                 s.beginDelete,
		Get:                         s.get,
		NewListByResourceGroupPager: s.listByResourceGroup,
	}
	s.factory = fake.NewServerFactoryTransport(&fake.ServerFactory{
		ContainerGroupsServer: s.groupsSrv,
		ContainersServer:      fake.ContainersServer{ListLogs: s.listLogs},
	})
	return s
}

// Transport returns the transport to put in the SDK's client options.
func (s *Server) Transport() policy.Transporter { return transport{s} }

// ClientOptions returns SDK client options that reach this server, with the
// SDK's retry policy tuned for tests (short delays).
func (s *Server) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Transport: s.Transport(),
		Retry:     policy.RetryOptions{RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond},
	}}
}

// Credential returns the SDK's fake token credential.
func Credential() *azfake.TokenCredential { return &azfake.TokenCredential{} }

// Fault is an HTTP error response injected below the SDK's retry policy, for the
// next Count requests (default 1) matching API and Method.
type Fault struct {
	// API is the SDK operation, e.g. "ContainerGroupsClient.BeginCreateOrUpdate"
	// (polls of a long-running operation carry their Begin* name); "" matches all.
	API string
	// Method is the HTTP method ("PUT", "GET", "DELETE"); "" matches all.
	Method string
	// Status is the HTTP status, e.g. 429 or 503.
	Status int
	// Code and Message fill ARM's error body.
	Code, Message string
	// RetryAfter is sent as the Retry-After header if not empty ("1", or an
	// HTTP date).
	RetryAfter string
	// Count is how many matching requests fail; default 1.
	Count int
}

// InjectFault queues f.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Calls returns how many HTTP requests reached the server (faulted ones
// included) for api ("ContainerGroupsClient.Get") and method ("" = any).
func (s *Server) Calls(api, method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.calls {
		a, m, _ := strings.Cut(k, " ")
		if a == api && (method == "" || m == method) {
			n += v
		}
	}
	return n
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// transport records the request, serves an injected fault or hands the request
// to the SDK's fake server.
type transport struct{ s *Server }

func (t transport) Do(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	if f := t.s.take(api, req.Method); f != nil {
		return faultResponse(req, f), nil
	}
	if api == "ContainerGroupsClient.BeginCreateOrUpdate" && req.Method == http.MethodGet && t.s.provisioningPending(req.URL.Path) {
		return inProgress(req), nil
	}
	t.s.fakeMu.Lock()
	defer t.s.fakeMu.Unlock()
	req, tr := t.s.route(api, req)
	return tr.Do(req)
}

// listParam is the query parameter that tells one simulated list from another.
const listParam = "surge-sim-list"

// route picks the SDK fake transport for a request. The SDK's fake keeps one
// long-running operation or pager per URL path, so a second PUT to a group whose
// earlier create is still being polled would be served the old operation, and
// two clients paging the same list would share pages. Each PUT, DELETE and list
// therefore gets its own fake transport; polls and next pages find it again by
// path (operations) or by a query parameter that the fake copies into nextLink
// (lists). Everything else goes to one shared transport. Called under fakeMu.
func (s *Server) route(api string, req *http.Request) (*http.Request, policy.Transporter) {
	var k string
	switch api {
	case "ContainerGroupsClient.BeginCreateOrUpdate", "ContainerGroupsClient.BeginDelete":
		k = api + " " + strings.TrimSuffix(req.URL.Path, "/get/fake/status")
		if req.Method != http.MethodGet {
			s.routes[k] = fake.NewContainerGroupsServerTransport(&s.groupsSrv)
		}
	case "ContainerGroupsClient.NewListByResourceGroupPager":
		q := req.URL.Query()
		if q.Get(listParam) == "" {
			s.listSeq++
			delete(s.routes, fmt.Sprintf("list %d", s.listSeq-64))
			q.Set(listParam, strconv.Itoa(s.listSeq))
			req = req.Clone(req.Context())
			req.URL.RawQuery = q.Encode()
			s.routes["list "+q.Get(listParam)] = fake.NewContainerGroupsServerTransport(&s.groupsSrv)
		}
		k = "list " + q.Get(listParam)
	}
	if tr, ok := s.routes[k]; ok {
		return req, tr
	}
	return req, s.factory
}

// take records a request and returns the fault it triggers, if any.
func (s *Server) take(api, method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[api+" "+method]++
	for i, f := range s.faults {
		if (f.API == "" || f.API == api) && (f.Method == "" || f.Method == method) {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// provisioningPending reports whether the group a create poll is about is still
// Creating: the operation must not end before the group is provisioned.
func (s *Server) provisioningPending(path string) bool {
	_, rest, _ := strings.Cut(path, "/resourceGroups/")
	rg, rest, _ := strings.Cut(rest, "/")
	_, rest, _ = strings.Cut(rest, "/containerGroups/")
	name, _, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[key(rg, name)]
	return ok && s.cfg.Clock.Now().Before(s.readyAt(g))
}

// fakePollerStatus is the header azcore's fake poller reads the operation's
// state from (azcore/internal/shared.HeaderFakePollerStatus, not exported).
const fakePollerStatus = "Fake-Poller-Status"

// inProgress answers a create poll with "still in progress", without consuming
// a response of the SDK fake's sequence.
func inProgress(req *http.Request) *http.Response {
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Request: req, Body: http.NoBody,
		Header: http.Header{fakePollerStatus: {"InProgress"}},
	}
}

func faultResponse(req *http.Request, f *Fault) *http.Response {
	code := f.Code
	if code == "" {
		code = http.StatusText(f.Status)
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": f.Message}})
	h := http.Header{"Content-Type": {"application/json"}, "X-Ms-Error-Code": {code}}
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)),
		StatusCode:    f.Status,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
