// Command runner is the example agent runner of the Go client. It speaks the same CLI and prints the
// same JSON lines as the runners of the other languages, so they can talk to each other:
//
//	go run ./examples/runner --name alice                     # responder: prints its agent_id
//	go run ./examples/runner --name bob --peer id1            # initiator: pings id1
//	go run ./examples/runner listen --agent-id id1 --token T --count 10
//	go run ./examples/runner bad-request --agent-id id1 --token T
//	go run ./examples/runner bench --agent-id id1 --token T --count 1000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	envoy "github.com/envoy-grpc/envoy-grpc/clients/go"
)

const lang = "go"

type options struct {
	mode, target, name, peer, project, agentID, token string
	timeout                                           time.Duration
	count                                             int
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(64)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
	defer cancel()
	client, err := envoy.Dial(opts.target, envoy.WithToken(opts.token))
	if err != nil {
		os.Exit(report(err))
	}
	defer client.Close()
	r := &runner{client: client, opts: opts}
	switch opts.mode {
	case "exchange":
		err = r.exchange(ctx)
	case "listen":
		err = r.listen(ctx)
	case "bad-request":
		err = r.badRequest(ctx)
	case "bench":
		err = r.bench(ctx)
	}
	os.Exit(report(err))
}

func parseArgs(args []string) (options, error) {
	opts := options{mode: "exchange"}
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		opts.mode, args = args[0], args[1:]
	}
	switch opts.mode {
	case "exchange", "listen", "bad-request", "bench":
	default:
		return opts, fmt.Errorf("unknown mode %q: expected exchange, listen, bad-request or bench", opts.mode)
	}
	flags := flag.NewFlagSet("runner", flag.ContinueOnError)
	flags.StringVar(&opts.target, "target", envoy.TargetFromEnv(), "gRPC address HOST:PORT")
	flags.StringVar(&opts.name, "name", "go-runner", "agent name to register under")
	flags.StringVar(&opts.peer, "peer", "", "agent to ping (initiator); without it, wait for a ping (responder)")
	flags.StringVar(&opts.project, "project", "runners", "project label for the session and the discovery")
	seconds := flags.Float64("timeout", 30, "give up after this many seconds (exit 2)")
	flags.StringVar(&opts.agentID, "agent-id", "", "agent to act as (listen, bad-request, bench)")
	flags.StringVar(&opts.token, "token", "", "that agent's token")
	flags.IntVar(&opts.count, "count", 1, "messages to receive (listen, bench)")
	if err := flags.Parse(args); err != nil {
		return opts, err
	}
	opts.timeout = time.Duration(*seconds * float64(time.Second))
	if opts.mode != "exchange" && (opts.agentID == "" || opts.token == "") {
		return opts, fmt.Errorf("%s needs --agent-id and --token", opts.mode)
	}
	return opts, nil
}

// emit prints one JSON line on stdout.
func emit(fields map[string]any) {
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

// report prints the error line for err and returns the exit code: 0 ok, 1 gRPC error, 2 timeout.
func report(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, context.DeadlineExceeded) {
		emit(map[string]any{"event": "error", "code": "DEADLINE_EXCEEDED", "message": "gave up: --timeout reached"})
		return 2
	}
	st := status.Convert(err)
	line := map[string]any{"event": "error", "code": rpccode.Code(st.Code()).String(), "message": st.Message()}
	for _, detail := range st.Details() {
		if bad, ok := detail.(*errdetails.BadRequest); ok {
			fields := []string{}
			for _, violation := range bad.GetFieldViolations() {
				fields = append(fields, violation.GetField())
			}
			line["fields"] = fields
		}
	}
	emit(line)
	return 1
}
