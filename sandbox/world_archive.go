package sandbox

import (
	"context"

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
