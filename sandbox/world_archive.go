package sandbox

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// OrdersArchive is the world's EventBridge archive of every event put on
// the orders bus, kept for a week: `flowtop replay --archive` replays it.
const OrdersArchive = "orders-archive"

func init() { worldParts = append(worldParts, func() worldPart { return archivePart{} }) }

// archivePart archives the orders bus, as a team that wants to replay its
// events would; it has nothing to run.
type archivePart struct{}

func (archivePart) setup(ctx context.Context, w *World) error {
	_, err := w.eb.CreateArchive(ctx, &eventbridge.CreateArchiveInput{
		ArchiveName: aws.String(OrdersArchive), EventSourceArn: aws.String(busARN(BusName)),
		Description: aws.String("every event of the orders bus"), RetentionDays: aws.Int32(7),
	})
	return err
}

func (archivePart) run(context.Context, *World) {}

// replayNameOf is the replay-name of an EventBridge event body, "" for an
// event that is not an archive replay.
func replayNameOf(body string) string {
	var env struct {
		ReplayName string `json:"replay-name"`
	}
	if json.Unmarshal([]byte(body), &env) != nil || len(env.ReplayName) > 64 {
		return ""
	}
	return env.ReplayName
}

// tagReplay adds replay_name to a consumer's log fields when its event is an
// archive replay, as a consumer that logs its event's replay-name does, so
// the replay's lines are told from the original's.
func (e msgEvent) tagReplay(f map[string]any) map[string]any {
	if e.replay != "" {
		f["replay_name"] = e.replay
	}
	return f
}
