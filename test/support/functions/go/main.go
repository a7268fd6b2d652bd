// A provided.al2023 function on the official Go client (github.com/aws/aws-lambda-go),
// built as Lambda's docs build one: a static binary named bootstrap
// (test/support/build-functions.ts).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name string `json:"name"`
	Fail bool   `json:"fail"`
}

type answer struct {
	Event        event  `json:"event"`
	GoVersion    string `json:"goVersion"`
	RequestID    string `json:"requestId"`
	FunctionName string `json:"functionName"`
	Handler      string `json:"handler"`
	HasDeadline  bool   `json:"hasDeadline"`
}

func handle(ctx context.Context, e event) (answer, error) {
	if e.Fail {
		return answer{}, errors.New("asked to fail")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	fmt.Printf("go says hi to %s\n", e.Name)
	return answer{
		Event:        e,
		GoVersion:    runtime.Version(),
		RequestID:    lc.AwsRequestID,
		FunctionName: lambdacontext.FunctionName,
		Handler:      os.Getenv("_HANDLER"),
		HasDeadline:  hasDeadline,
	}, nil
}

func main() {
	lambda.Start(handle)
}
