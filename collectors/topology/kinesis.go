package topology

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/flowtop/flowtop/tracing"
)

// streamAttrs keeps what a stream source's mapping says about following its
// records: where it starts reading, how often it retries a failed batch,
// and whether it splits one.
func streamAttrs(m lambdatypes.EventSourceMappingConfiguration, attrs map[string]string) {
	if m.StartingPosition != "" {
		attrs["startingPosition"] = string(m.StartingPosition)
	}
	if m.MaximumRetryAttempts != nil {
		attrs["retries"] = strconv.Itoa(int(*m.MaximumRetryAttempts))
	}
	if aws.ToBool(m.BisectBatchOnFunctionError) {
		attrs["bisect"] = "true"
	}
}

// FailureQueues names the queues the last reading found to be on-failure
// destinations of event source mappings (a stream batch's failure record
// lands there): dead-letter queues that no RedrivePolicy names, which the
// DLQ source watches too.
func (s *Source) FailureQueues() []string {
	if s == nil {
		return nil
	}
	set := s.Routes()
	var out []string
	for _, r := range set.Routes {
		if r.To.Kind != tracing.ComponentQueue || r.From.Kind != tracing.ComponentFunction {
			continue
		}
		if r.Via == "mapping on-failure destination" {
			out = append(out, r.To.Name)
		}
	}
	return out
}
