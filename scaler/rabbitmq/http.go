package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// queueInfo is the part of a management API queue object the trigger reads. Fields
// are absent for a queue that has seen no traffic yet: they decode as zero.
type queueInfo struct {
	Name          string `json:"name"`
	Messages      int64  `json:"messages"`
	MessagesReady int64  `json:"messages_ready"`
	MessageStats  struct {
		PublishDetails    rate `json:"publish_details"`
		DeliverGetDetails rate `json:"deliver_get_details"`
	} `json:"message_stats"`
}

type rate struct {
	Rate float64 `json:"rate"`
}

// queuePage is the answer of a filtered queue listing (useRegex).
type queuePage struct {
	Items     []queueInfo `json:"items"`
	PageCount int         `json:"page_count"`
}

// columns limits the management API's answer to what queueInfo reads.
const columns = "name,messages,messages_ready,message_stats.publish_details.rate,message_stats.deliver_get_details.rate"

// maxBody bounds how much of an answer is read (a regex page of 500 queues is ~100 KiB).
const maxBody = 8 << 20

// queueURL returns the URL of one queue, or of the filtered listing when useRegex.
func (c *Config) queueURL() string {
	v := url.PathEscape(c.httpVhost)
	if !c.UseRegex {
		return c.httpBase + "/api/queues/" + v + "/" + url.PathEscape(c.QueueName) + "?columns=" + columns
	}
	q := url.Values{}
	q.Set("page", "1")
	q.Set("page_size", strconv.FormatInt(c.PageSize, 10))
	q.Set("name", c.QueueName)
	q.Set("use_regex", "true")
	q.Set("pagination", "false")
	q.Set("columns", columns)
	return c.httpBase + "/api/queues/" + v + "?" + q.Encode()
}

// fetch reads the queue (or the matching queues) from the management API.
func (h *httpBroker) fetch(ctx context.Context, c *Config) ([]queueInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.queueURL(), nil)
	if err != nil {
		return nil, fmt.Errorf("management API request: %w", err)
	}
	if c.Username != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is long and says nothing the base does not
		}
		return nil, fmt.Errorf("management API %s: %w", c.httpBase, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxBody)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(body, 512))
		return nil, statusError(c, resp.StatusCode, resp.Status, strings.TrimSpace(string(b)))
	}
	if !c.UseRegex {
		var q queueInfo
		if err := json.NewDecoder(body).Decode(&q); err != nil {
			return nil, fmt.Errorf("management API %s: decode queue %q: %w", c.httpBase, c.QueueName, err)
		}
		return []queueInfo{q}, nil
	}
	var page queuePage
	if err := json.NewDecoder(body).Decode(&page); err != nil {
		return nil, fmt.Errorf("management API %s: decode queues matching %q: %w", c.httpBase, c.QueueName, err)
	}
	if page.PageCount > 1 {
		return nil, fmt.Errorf("management API %s: more than pageSize=%d queues match %q: raise pageSize or narrow the regex",
			c.httpBase, c.PageSize, c.QueueName)
	}
	return page.Items, nil
}

func statusError(c *Config, code int, status, body string) error {
	what := fmt.Sprintf("queue %q in vhost %q", c.QueueName, c.httpVhost)
	switch code {
	case http.StatusNotFound:
		return fmt.Errorf("management API %s: %s: not found (%s): %s", c.httpBase, what, status, body)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("management API %s: %s: access refused, check username and password (%s): %s", c.httpBase, what, status, body)
	}
	return fmt.Errorf("management API %s: %s: %s: %s", c.httpBase, what, status, body)
}

// pick returns the number mode reads from one queue.
func (c *Config) pick(q *queueInfo) float64 {
	switch c.Mode {
	case ModeMessageRate:
		return q.MessageStats.PublishDetails.Rate
	case ModeDeliverGetRate:
		return q.MessageStats.DeliverGetDetails.Rate
	}
	if c.ExcludeUnacknowledged {
		return float64(q.MessagesReady)
	}
	return float64(q.Messages)
}

// combine applies operation to the matching queues' numbers (0 when none match, as
// KEDA does). avg divides counts with integer division like KEDA; rates exactly.
func (c *Config) combine(qs []queueInfo) float64 {
	if len(qs) == 0 {
		return 0
	}
	var sum, top float64
	for i := range qs {
		v := c.pick(&qs[i])
		sum += v
		top = max(top, v)
	}
	switch c.Operation {
	case "max":
		return top
	case "avg":
		if c.Mode == ModeQueueLength {
			return float64(int64(sum) / int64(len(qs)))
		}
		return sum / float64(len(qs))
	}
	return sum
}
