// Command sender posts CloudEvents to a receiver with the CloudEvents Go SDK
// (github.com/cloudevents/sdk-go/v2), an implementation independent of the receiver's, in the
// content mode each case asks for. It stands in for the CloudEvents conformance tool
// (github.com/cloudevents/conformance), which the Go module proxy does not serve.
//
//	sender <receiver URL> <cases.json>
//
// cases.json is a JSON array of cases (see events/runtime/test/cloudevents.conformance.test.ts); the
// output, on stdout, is a JSON array with, per case, the HTTP status and the event as the SDK
// serialized it in the JSON format (the oracle for what the receiver must decode).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
)

type extension struct {
	Type  string          `json:"type"` // String, Integer, Boolean, URI, URI-reference, Timestamp, Binary
	Value json.RawMessage `json:"value"`
}

type input struct {
	Name            string               `json:"name"`
	Mode            string               `json:"mode"` // binary or structured
	ID              string               `json:"id"`
	Source          string               `json:"source"`
	Type            string               `json:"type"`
	Subject         string               `json:"subject,omitempty"`
	Time            string               `json:"time,omitempty"`
	DataSchema      string               `json:"dataschema,omitempty"`
	DataContentType string               `json:"datacontenttype,omitempty"`
	Extensions      map[string]extension `json:"extensions,omitempty"`
	// One of: a JSON value, a text, bytes in base64.
	Data       json.RawMessage `json:"data,omitempty"`
	DataText   *string         `json:"dataText,omitempty"`
	DataBase64 *string         `json:"dataBase64,omitempty"`
}

type output struct {
	Name   string          `json:"name"`
	Status int             `json:"status"`
	Error  string          `json:"error,omitempty"`
	Sent   json.RawMessage `json:"sent"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sender <receiver URL> <cases.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[2])
	check(err)
	var cases []input
	check(json.Unmarshal(raw, &cases))
	client, err := cloudevents.NewClientHTTP()
	check(err)
	results := make([]output, 0, len(cases))
	for _, c := range cases {
		event, err := build(c)
		if err != nil {
			check(fmt.Errorf("case %q: %w", c.Name, err))
		}
		sent, err := json.Marshal(event)
		check(err)
		ctx := cloudevents.ContextWithTarget(context.Background(), os.Args[1])
		switch c.Mode {
		case "binary":
			ctx = cloudevents.WithEncodingBinary(ctx)
		case "structured":
			ctx = cloudevents.WithEncodingStructured(ctx)
		default:
			check(fmt.Errorf("case %q: unknown mode %q", c.Name, c.Mode))
		}
		out := output{Name: c.Name, Sent: sent}
		result := client.Send(ctx, *event)
		var httpResult *cehttp.Result
		if protocol.ResultAs(result, &httpResult) {
			out.Status = httpResult.StatusCode
		}
		if out.Status == 0 {
			out.Error = fmt.Sprint(result)
		}
		results = append(results, out)
	}
	check(json.NewEncoder(os.Stdout).Encode(results))
}

func build(c input) (*cloudevents.Event, error) {
	event := cloudevents.NewEvent(cloudevents.VersionV1)
	event.SetID(c.ID)
	event.SetSource(c.Source)
	event.SetType(c.Type)
	if c.Subject != "" {
		event.SetSubject(c.Subject)
	}
	if c.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, c.Time)
		if err != nil {
			return nil, err
		}
		event.SetTime(t)
	}
	if c.DataSchema != "" {
		event.SetDataSchema(c.DataSchema)
	}
	for name, ext := range c.Extensions {
		value, err := extensionValue(ext)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", name, err)
		}
		if err := event.Context.SetExtension(name, value); err != nil {
			return nil, fmt.Errorf("extension %s: %w", name, err)
		}
	}
	var err error
	switch {
	case c.DataBase64 != nil:
		var data []byte
		if data, err = base64.StdEncoding.DecodeString(*c.DataBase64); err == nil {
			err = event.SetData(c.DataContentType, data)
		}
	case c.DataText != nil:
		err = event.SetData(c.DataContentType, *c.DataText)
	case c.Data != nil:
		err = event.SetData(c.DataContentType, c.Data)
	case c.DataContentType != "":
		event.SetDataContentType(c.DataContentType)
	}
	if err != nil {
		return nil, err
	}
	return &event, event.Validate()
}

func extensionValue(ext extension) (interface{}, error) {
	var s string
	switch ext.Type {
	case "Integer":
		var n int32
		err := json.Unmarshal(ext.Value, &n)
		return n, err
	case "Boolean":
		var b bool
		err := json.Unmarshal(ext.Value, &b)
		return b, err
	}
	if err := json.Unmarshal(ext.Value, &s); err != nil {
		return nil, err
	}
	switch ext.Type {
	case "String":
		return s, nil
	case "URI":
		u, err := url.Parse(s)
		if err != nil {
			return nil, err
		}
		return types.URI{URL: *u}, nil
	case "URI-reference":
		u, err := url.Parse(s)
		if err != nil {
			return nil, err
		}
		return types.URIRef{URL: *u}, nil
	case "Timestamp":
		t, err := time.Parse(time.RFC3339Nano, s)
		return types.Timestamp{Time: t}, err
	case "Binary":
		return base64.StdEncoding.DecodeString(s)
	}
	return nil, errors.New("unknown type " + ext.Type)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sender:", err)
		os.Exit(1)
	}
}
