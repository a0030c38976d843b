package sandbox

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kinesisService emulates Amazon Kinesis Data Streams (awsJson1_1,
// Kinesis_20131202.*): provisioned streams with shards that split the 128-bit
// hash key space evenly, records placed by the MD5 of their partition key,
// 56-digit sequence numbers that grow within a shard, shard iterators that
// expire after five minutes, and the per-shard write limit (records a
// second) that makes PutRecords fail some records while others succeed, as
// a hot shard does.
type kinesisService struct {
	s *Server

	mu      sync.Mutex
	streams map[string]*kStream
	// perShardTPS is how many records one shard takes a second before a put
	// fails with ProvisionedThroughputExceededException (AWS: 1,000).
	perShardTPS int
}

type kStream struct {
	name    string
	created time.Time
	base    int64 // the stream's part of its sequence numbers
	shards  []*kShard
}

type kShard struct {
	id      string
	index   int
	lo, hi  *big.Int // hash key range, inclusive
	records []kRecord
	trimmed int // records dropped from the front (retention bound)
	counter int64
	second  int64 // the Unix second writes are counted in
	writes  int
}

type kRecord struct {
	seq     string
	key     string
	data    []byte
	arrival time.Time
}

// maxShardRecords bounds a shard's retained records: a long demo keeps the
// newest, as a stream's retention period trims the oldest.
const maxShardRecords = 50_000

// iteratorTTL is how long a shard iterator stays valid, as AWS documents.
const iteratorTTL = 5 * time.Minute

func newKinesisService(s *Server) *kinesisService {
	return &kinesisService{s: s, streams: map[string]*kStream{}, perShardTPS: 1000}
}

// SetKinesisShardLimit sets how many records one shard accepts a second
// before PutRecord(s) fails the rest with ProvisionedThroughputExceededException
// (AWS's limit is 1,000): a low limit makes a busy producer see partial failures.
func (s *Server) SetKinesisShardLimit(perSecond int) {
	k := s.kinesis()
	k.mu.Lock()
	defer k.mu.Unlock()
	if perSecond > 0 {
		k.perShardTPS = perSecond
	}
}

func (s *Server) kinesis() *kinesisService { return s.services["kinesis"].(*kinesisService) }

// AddStreamEventSourceMapping records a Lambda event source mapping from a
// Kinesis stream, as CreateEventSourceMapping does: its batch size, starting
// position, retry attempts and on-failure destination, which
// ListEventSourceMappings reports. The world's consumer polls the stream as
// the mapping would. It returns the mapping's UUID.
func (s *Server) AddStreamEventSourceMapping(streamARN, function string, batchSize int, startingPosition string, retries int, onFailure string) string {
	l := s.lambda()
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.addESM(streamARN, function, batchSize, 1)
	m.StartingPosition, m.OnFailure, m.MaximumRetryAttempts = startingPosition, onFailure, &retries
	return m.UUID
}

// StreamARN is the ARN of a Kinesis stream of the sandbox account.
func StreamARN(name string) string {
	return "arn:aws:kinesis:" + Region + ":" + Account + ":stream/" + name
}

// streamARN is a stream's ARN in the region that answers.
func (k *kinesisService) streamARN(name string) string {
	return "arn:aws:kinesis:" + k.s.region + ":" + Account + ":stream/" + name
}

func (*kinesisService) name() string { return "kinesis" }

func (*kinesisService) operation(r *http.Request, _ []byte) string {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
	switch op {
	case "CreateStream", "DescribeStreamSummary", "ListStreams", "ListShards", "PutRecord", "PutRecords", "GetShardIterator", "GetRecords":
		return op
	}
	return ""
}

func (*kinesisService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

func (k *kinesisService) serve(w http.ResponseWriter, _ *http.Request, op string, body []byte) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		k.writeError(w, http.StatusBadRequest, "SerializationException", "request body is not JSON")
		return
	}
	k.mu.Lock()
	out, err := k.call(op, in, k.s.now())
	k.mu.Unlock()
	if err != nil {
		ae := apiErrOf(err)
		k.writeError(w, ae.status, ae.code, ae.message)
		return
	}
	writeJSON(w, "", out)
}

// stream finds the stream a request names by StreamName or StreamARN.
func (k *kinesisService) stream(in map[string]json.RawMessage) (*kStream, error) {
	name := str1(in, "StreamName")
	if arn := str1(in, "StreamARN"); arn != "" {
		_, n, ok := strings.Cut(arn, ":stream/")
		if !ok || !strings.HasPrefix(arn, "arn:aws:kinesis:") {
			return nil, badReq("InvalidArgumentException", "StreamARN %s is not a stream ARN", arn)
		}
		name = n
	}
	if name == "" {
		return nil, badReq("InvalidArgumentException", "Either StreamName or StreamARN should be provided.")
	}
	st, ok := k.streams[name]
	if !ok {
		return nil, badReq("ResourceNotFoundException", "Stream %s under account %s not found.", name, Account)
	}
	return st, nil
}

func (k *kinesisService) call(op string, in map[string]json.RawMessage, now time.Time) (any, error) {
	switch op {
	case "CreateStream":
		return k.createStream(in, now)
	case "DescribeStreamSummary":
		st, err := k.stream(in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"StreamDescriptionSummary": map[string]any{
			"StreamName": st.name, "StreamARN": k.streamARN(st.name), "StreamStatus": "ACTIVE",
			"StreamModeDetails": map[string]string{"StreamMode": "PROVISIONED"}, "RetentionPeriodHours": 24,
			"StreamCreationTimestamp": epoch(st.created), "EnhancedMonitoring": []any{map[string]any{"ShardLevelMetrics": []string{}}},
			"EncryptionType": "NONE", "OpenShardCount": len(st.shards), "ConsumerCount": 0,
		}}, nil
	case "ListStreams":
		return k.listStreams(in)
	case "ListShards":
		return k.listShards(in)
	case "PutRecord":
		st, err := k.stream(in)
		if err != nil {
			return nil, err
		}
		data, key, err := recordIn(in)
		if err != nil {
			return nil, err
		}
		sh, seq, err := k.put(st, data, key, str1(in, "ExplicitHashKey"), now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ShardId": sh.id, "SequenceNumber": seq, "EncryptionType": "NONE"}, nil
	case "PutRecords":
		return k.putRecords(in, now)
	case "GetShardIterator":
		return k.getShardIterator(in, now)
	case "GetRecords":
		return k.getRecords(in, now)
	}
	return nil, badReq("UnknownOperationException", "sandbox: Kinesis %s is not emulated", op)
}

func streamNameOK(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (k *kinesisService) createStream(in map[string]json.RawMessage, now time.Time) (any, error) {
	name := str1(in, "StreamName")
	if !streamNameOK(name) {
		return nil, badReq("ValidationException", "1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
	}
	if _, ok := k.streams[name]; ok {
		return nil, badReq("ResourceInUseException", "Stream %s under account %s already exists.", name, Account)
	}
	n := int1(in, "ShardCount", 4) // on-demand streams start with 4 shards
	if n < 1 || n > 500 {
		return nil, badReq("InvalidArgumentException", "ShardCount must be between 1 and 500")
	}
	st := &kStream{name: name, created: now, base: now.UnixNano()/1e6%1e15 + int64(len(k.streams))*7919}
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	step := new(big.Int).Div(space, big.NewInt(int64(n)))
	for i := range n {
		lo := new(big.Int).Mul(step, big.NewInt(int64(i)))
		hi := new(big.Int).Sub(new(big.Int).Add(lo, step), big.NewInt(1))
		if i == n-1 {
			hi = new(big.Int).Sub(space, big.NewInt(1))
		}
		st.shards = append(st.shards, &kShard{id: fmt.Sprintf("shardId-%012d", i), index: i, lo: lo, hi: hi})
	}
	k.streams[name] = st
	return struct{}{}, nil
}

// seqOf builds a shard's next sequence number: 56 decimal digits, as AWS's
// are, growing within the shard (same length, so string order is numeric).
func (st *kStream) seqOf(sh *kShard) string {
	sh.counter++
	return fmt.Sprintf("49%020d%04d%030d", st.base, sh.index, sh.counter*1000+int64(sh.index))
}

func (k *kinesisService) listStreams(in map[string]json.RawMessage) (any, error) {
	names := make([]string, 0, len(k.streams))
	for n := range k.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	limit := int1(in, "Limit", 100)
	if limit < 1 || limit > 10000 {
		return nil, badReq("ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", limit)
	}
	from := 0
	if tok := str1(in, "NextToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "kst-"))
		if err != nil || !strings.HasPrefix(tok, "kst-") || n < 0 || n > len(names) {
			return nil, badReq("InvalidArgumentException", "NextToken is invalid")
		}
		from = n
	} else if after := str1(in, "ExclusiveStartStreamName"); after != "" {
		from = sort.SearchStrings(names, after)
		if from < len(names) && names[from] == after {
			from++
		}
	}
	to := min(from+limit, len(names))
	page := names[from:to]
	sums := make([]any, 0, len(page))
	for _, n := range page {
		st := k.streams[n]
		sums = append(sums, map[string]any{
			"StreamName": n, "StreamARN": k.streamARN(n), "StreamStatus": "ACTIVE",
			"StreamModeDetails": map[string]string{"StreamMode": "PROVISIONED"}, "StreamCreationTimestamp": epoch(st.created),
		})
	}
	out := map[string]any{"StreamNames": append([]string{}, page...), "HasMoreStreams": to < len(names), "StreamSummaries": sums}
	if to < len(names) {
		out["NextToken"] = "kst-" + strconv.Itoa(to)
	}
	return out, nil
}

func (k *kinesisService) listShards(in map[string]json.RawMessage) (any, error) {
	var st *kStream
	from := 0
	if tok := str1(in, "NextToken"); tok != "" {
		if str1(in, "StreamName") != "" || str1(in, "StreamARN") != "" {
			return nil, badReq("InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
		}
		name, n, ok := strings.Cut(tok, "\x00")
		i, err := strconv.Atoi(n)
		if s, found := k.streams[name]; ok && err == nil && found && i >= 0 && i <= len(s.shards) {
			st, from = s, i
		} else {
			return nil, badReq("InvalidArgumentException", "NextToken is invalid")
		}
	} else {
		var err error
		if st, err = k.stream(in); err != nil {
			return nil, err
		}
	}
	max := int1(in, "MaxResults", 1000)
	if max < 1 || max > 10000 {
		return nil, badReq("InvalidArgumentException", "MaxResults must be between 1 and 10000")
	}
	to := min(from+max, len(st.shards))
	shards := make([]any, 0, to-from)
	for _, sh := range st.shards[from:to] {
		shards = append(shards, map[string]any{
			"ShardId":             sh.id,
			"HashKeyRange":        map[string]string{"StartingHashKey": sh.lo.String(), "EndingHashKey": sh.hi.String()},
			"SequenceNumberRange": map[string]string{"StartingSequenceNumber": fmt.Sprintf("49%020d%04d%030d", st.base, sh.index, 0)},
		})
	}
	out := map[string]any{"Shards": shards}
	if to < len(st.shards) {
		out["NextToken"] = st.name + "\x00" + strconv.Itoa(to)
	}
	return out, nil
}

// recordIn reads Data and PartitionKey as PutRecord and each PutRecords
// entry carry them, with AWS's limits.
func recordIn(in map[string]json.RawMessage) ([]byte, string, error) {
	var data []byte
	if err := json.Unmarshal(in["Data"], &data); err != nil || in["Data"] == nil {
		return nil, "", badReq("ValidationException", "1 validation error detected: Value null at 'data' failed to satisfy constraint: Member must not be null")
	}
	if len(data) > 1<<20 {
		return nil, "", badReq("ValidationException", "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576")
	}
	key := str1(in, "PartitionKey")
	if key == "" || len([]rune(key)) > 256 {
		return nil, "", badReq("ValidationException", "1 validation error detected: Value '%s' at 'partitionKey' failed to satisfy constraint: Member must have length between 1 and 256", key)
	}
	return data, key, nil
}

// shardFor places a record by the MD5 of its partition key (or its
// explicit hash key) in the shard whose hash key range holds it.
func (st *kStream) shardFor(key, explicit string) (*kShard, error) {
	h := new(big.Int)
	if explicit != "" {
		if _, ok := h.SetString(explicit, 10); !ok || h.Sign() < 0 || h.BitLen() > 128 {
			return nil, badReq("InvalidArgumentException", "ExplicitHashKey %s is not a 128-bit unsigned decimal", explicit)
		}
	} else {
		sum := md5.Sum([]byte(key))
		h.SetBytes(sum[:])
	}
	for _, sh := range st.shards {
		if h.Cmp(sh.lo) >= 0 && h.Cmp(sh.hi) <= 0 {
			return sh, nil
		}
	}
	return st.shards[len(st.shards)-1], nil
}

// errThroughput is the per-record failure of a shard over its write limit.
type errThroughput struct{ shard, stream string }

func (e errThroughput) Error() string {
	return "Rate exceeded for shard " + e.shard + " in stream " + e.stream + " under account " + Account + "."
}

func (k *kinesisService) put(st *kStream, data []byte, key, explicit string, now time.Time) (*kShard, string, error) {
	sh, err := st.shardFor(key, explicit)
	if err != nil {
		return nil, "", err
	}
	if sec := now.Unix(); sec != sh.second {
		sh.second, sh.writes = sec, 0
	}
	if sh.writes >= k.perShardTPS {
		return sh, "", &apiErr{status: http.StatusBadRequest, code: "ProvisionedThroughputExceededException", message: errThroughput{sh.id, st.name}.Error()}
	}
	sh.writes++
	seq := st.seqOf(sh)
	sh.records = append(sh.records, kRecord{seq: seq, key: key, data: append([]byte(nil), data...), arrival: now})
	if over := len(sh.records) - maxShardRecords; over > 0 {
		sh.records = append(sh.records[:0:0], sh.records[over:]...)
		sh.trimmed += over
	}
	return sh, seq, nil
}

func (k *kinesisService) putRecords(in map[string]json.RawMessage, now time.Time) (any, error) {
	st, err := k.stream(in)
	if err != nil {
		return nil, err
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(in["Records"], &entries); err != nil || len(entries) == 0 || len(entries) > 500 {
		return nil, badReq("ValidationException", "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length between 1 and 500")
	}
	results := make([]any, 0, len(entries))
	failed := 0
	for _, e := range entries {
		data, key, err := recordIn(e)
		if err != nil {
			return nil, err // a malformed entry fails the whole call, as AWS's validation does
		}
		sh, seq, err := k.put(st, data, key, str1(e, "ExplicitHashKey"), now)
		if err != nil {
			ae := apiErrOf(err)
			if ae.code != "ProvisionedThroughputExceededException" {
				return nil, err
			}
			failed++
			results = append(results, map[string]string{"ErrorCode": ae.code, "ErrorMessage": ae.message})
			continue
		}
		results = append(results, map[string]string{"SequenceNumber": seq, "ShardId": sh.id})
	}
	return map[string]any{"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}, nil
}

// iterator is what a shard iterator token encodes: where the next read
// starts (an absolute record position in the shard) and when it was issued.
type iterator struct {
	Stream string `json:"s"`
	Shard  int    `json:"h"`
	Pos    int    `json:"p"`
	Issued int64  `json:"t"`
}

func (it iterator) token() string {
	b, _ := json.Marshal(it)
	return base64.StdEncoding.EncodeToString(b)
}

func (k *kinesisService) shardOf(st *kStream, id string) (*kShard, error) {
	for _, sh := range st.shards {
		if sh.id == id {
			return sh, nil
		}
	}
	return nil, badReq("ResourceNotFoundException", "Shard %s in stream %s under account %s does not exist", id, st.name, Account)
}

func (k *kinesisService) getShardIterator(in map[string]json.RawMessage, now time.Time) (any, error) {
	st, err := k.stream(in)
	if err != nil {
		return nil, err
	}
	sh, err := k.shardOf(st, str1(in, "ShardId"))
	if err != nil {
		return nil, err
	}
	end := sh.trimmed + len(sh.records)
	pos := 0
	switch typ := str1(in, "ShardIteratorType"); typ {
	case "TRIM_HORIZON":
		pos = sh.trimmed
	case "LATEST":
		pos = end
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		seq := str1(in, "StartingSequenceNumber")
		if seq == "" || strings.Trim(seq, "0123456789") != "" || len(seq) > 128 {
			return nil, badReq("InvalidArgumentException", "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", seq, sh.id, st.name, Account)
		}
		i := sort.Search(len(sh.records), func(i int) bool { return cmpSeq(sh.records[i].seq, seq) >= 0 })
		if typ == "AFTER_SEQUENCE_NUMBER" && i < len(sh.records) && sh.records[i].seq == seq {
			i++
		}
		pos = sh.trimmed + i
	case "AT_TIMESTAMP":
		var ts float64
		if json.Unmarshal(in["Timestamp"], &ts) != nil {
			return nil, badReq("InvalidArgumentException", "The timestamp must be provided for an AT_TIMESTAMP iterator")
		}
		at := time.UnixMilli(int64(ts * 1000))
		i := sort.Search(len(sh.records), func(i int) bool { return !sh.records[i].arrival.Before(at) })
		pos = sh.trimmed + i
	default:
		return nil, badReq("ValidationException", "1 validation error detected: Value '%s' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]", typ)
	}
	return map[string]string{"ShardIterator": iterator{Stream: st.name, Shard: sh.index, Pos: pos, Issued: now.UnixMilli()}.token()}, nil
}

// cmpSeq compares two decimal sequence numbers numerically.
func cmpSeq(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func (k *kinesisService) getRecords(in map[string]json.RawMessage, now time.Time) (any, error) {
	tok := str1(in, "ShardIterator")
	var it iterator
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(raw, &it) != nil {
		return nil, badReq("InvalidArgumentException", "Invalid ShardIterator.")
	}
	st, ok := k.streams[it.Stream]
	if !ok || it.Shard < 0 || it.Shard >= len(st.shards) {
		return nil, badReq("ResourceNotFoundException", "Shard in stream %s under account %s does not exist", it.Stream, Account)
	}
	if now.Sub(time.UnixMilli(it.Issued)) > iteratorTTL {
		return nil, badReq("ExpiredIteratorException", "Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of 300000 milliseconds.",
			time.UnixMilli(it.Issued).UTC().Format(time.RFC1123), now.UTC().Format(time.RFC1123))
	}
	limit := int1(in, "Limit", 10000)
	if limit < 1 || limit > 10000 {
		return nil, badReq("ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", limit)
	}
	sh := st.shards[it.Shard]
	pos := max(it.Pos, sh.trimmed) // records trimmed since are gone, as past retention
	i := pos - sh.trimmed
	recs := make([]any, 0)
	for ; i < len(sh.records) && len(recs) < limit; i++ {
		r := sh.records[i]
		recs = append(recs, map[string]any{
			"SequenceNumber": r.seq, "ApproximateArrivalTimestamp": epoch(r.arrival), "Data": r.data, "PartitionKey": r.key,
		})
	}
	behind := int64(0)
	if i < len(sh.records) {
		behind = max(now.Sub(sh.records[i].arrival).Milliseconds(), 0)
	}
	next := iterator{Stream: st.name, Shard: sh.index, Pos: sh.trimmed + i, Issued: now.UnixMilli()}
	return map[string]any{"Records": recs, "NextShardIterator": next.token(), "MillisBehindLatest": behind}, nil
}

// streamESMJSON adds the fields ListEventSourceMappings reports for a
// stream source: StartingPosition, the retry and batch-splitting settings,
// and DestinationConfig with its on-failure destination.
func streamESMJSON(m *EventSourceMapping, out map[string]any) {
	out["StartingPosition"] = m.StartingPosition
	out["ParallelizationFactor"] = 1
	out["BisectBatchOnFunctionError"] = false
	out["MaximumRecordAgeInSeconds"] = -1
	out["TumblingWindowInSeconds"] = 0
	out["LastProcessingResult"] = "OK"
	if m.MaximumRetryAttempts != nil {
		out["MaximumRetryAttempts"] = *m.MaximumRetryAttempts
	} else {
		out["MaximumRetryAttempts"] = -1
	}
	dc := map[string]any{"OnFailure": map[string]any{}}
	if m.OnFailure != "" {
		dc["OnFailure"] = map[string]string{"Destination": m.OnFailure}
	}
	out["DestinationConfig"] = dc
}
