// Package envoy is the Go client of envoy-grpc: the generated stubs of proto/envoy/v1 (package
// envoyv1) behind a thin layer that attaches the agent's bearer token to every call, retries unary
// calls on UNAVAILABLE and CANCELLED with jittered exponential backoff, and turns Subscribe into a
// range-over-func iterator that resumes after a disconnect and drops messages it has already seen.
//
//	client, err := envoy.Dial("127.0.0.1:9877")
//	reg, err := client.Agents.RegisterAgent(ctx, &envoyv1.RegisterAgentRequest{Name: "builder", Kind: "runner"})
//	client.SetToken(reg.Token)
//	for msg, err := range client.Subscribe(ctx, reg.AgentId, envoy.SubscribeOptions{}) { ... }
package envoy

import (
	"context"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	envoyv1 "github.com/envoy-grpc/envoy-grpc/clients/go/envoy/v1"
)

// DefaultTarget is the server's default gRPC address; the ENVOY_GRPC environment variable overrides it.
const DefaultTarget = "127.0.0.1:9877"

// Client holds one connection to the server and a stub for each service on it.
type Client struct {
	conn  *grpc.ClientConn
	mu    sync.RWMutex
	token string
	retry Retry

	Agents        envoyv1.AgentServiceClient
	Messages      envoyv1.MessageServiceClient
	Sessions      envoyv1.SessionServiceClient
	ProjectEvents envoyv1.ProjectEventServiceClient
	Knowledge     envoyv1.KnowledgeServiceClient
	Graph         envoyv1.GraphServiceClient
	Code          envoyv1.CodeServiceClient
	Hooks         envoyv1.HookServiceClient
	System        envoyv1.SystemServiceClient
}

// Option configures Dial.
type Option func(*settings)

type settings struct {
	token    string
	retry    Retry
	dialOpts []grpc.DialOption
}

// WithToken sets the bearer token sent with every call (SetToken changes it later).
func WithToken(token string) Option { return func(s *settings) { s.token = token } }

// WithRetry replaces DefaultRetry for unary calls and Subscribe reconnects.
func WithRetry(retry Retry) Option { return func(s *settings) { s.retry = retry } }

// WithDialOptions adds grpc.DialOptions (TLS credentials, more interceptors, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(s *settings) { s.dialOpts = append(s.dialOpts, opts...) }
}

// TargetFromEnv returns $ENVOY_GRPC, or DefaultTarget when it is unset.
func TargetFromEnv() string {
	if target := os.Getenv("ENVOY_GRPC"); target != "" {
		return target
	}
	return DefaultTarget
}

// Dial creates a client for target ("host:port"). The connection is made lazily, on the first call.
func Dial(target string, opts ...Option) (*Client, error) {
	s := settings{retry: DefaultRetry}
	for _, opt := range opts {
		opt(&s)
	}
	c := &Client{token: s.token, retry: s.retry}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect soon after a server restart instead of grpc-go's default 1 s, 1.6 s, 2.6 s, ...
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second,
		}}),
		// The token goes on first so the retry loop resends it with every attempt.
		grpc.WithChainUnaryInterceptor(c.retry.unaryInterceptor, c.unaryAuth),
		grpc.WithChainStreamInterceptor(c.streamAuth),
	}
	conn, err := grpc.NewClient(target, append(dialOpts, s.dialOpts...)...)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	c.Agents = envoyv1.NewAgentServiceClient(conn)
	c.Messages = envoyv1.NewMessageServiceClient(conn)
	c.Sessions = envoyv1.NewSessionServiceClient(conn)
	c.ProjectEvents = envoyv1.NewProjectEventServiceClient(conn)
	c.Knowledge = envoyv1.NewKnowledgeServiceClient(conn)
	c.Graph = envoyv1.NewGraphServiceClient(conn)
	c.Code = envoyv1.NewCodeServiceClient(conn)
	c.Hooks = envoyv1.NewHookServiceClient(conn)
	c.System = envoyv1.NewSystemServiceClient(conn)
	return c, nil
}

// SetToken changes the bearer token used by every later call (after RegisterAgent, or a rotation).
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

// Token returns the bearer token in use ("" before one is set).
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// Conn is the underlying connection, for stubs of other services (health, reflection).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; open subscriptions end with an error.
func (c *Client) Close() error { return c.conn.Close() }

// Ack acknowledges a delivered message as agentID (the recipient).
func (c *Client) Ack(ctx context.Context, agentID, messageID string) error {
	_, err := c.Messages.AckMessage(ctx, &envoyv1.AckMessageRequest{MessageId: messageID, AgentId: agentID})
	return err
}

func (c *Client) withToken(ctx context.Context) context.Context {
	if token := c.Token(); token != "" {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return ctx
}

func (c *Client) unaryAuth(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
) error {
	return invoker(c.withToken(ctx), method, req, reply, cc, opts...)
}

func (c *Client) streamAuth(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption,
) (grpc.ClientStream, error) {
	return streamer(c.withToken(ctx), desc, cc, method, opts...)
}
