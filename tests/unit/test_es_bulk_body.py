"""What the Elasticsearch client sends for a passage: orjson's bytes, the vector as float32 (no node needed)."""

import json

import numpy as np
from elasticsearch.helpers.actions import expand_action

from archive.backends.elastic_transport import Transport
from archive.backends.elastic_writer import passage_actions
from bench.corpus import iter_items


def body_lines(transport: Transport, action: dict) -> list[dict]:
    """The bulk body's lines for one action, serialised as `helpers.streaming_bulk` does it."""
    serializer = transport.client.transport.serializers.get_serializer("application/json")
    meta, source = expand_action(dict(action))
    return [json.loads(serializer.dumps(part)) for part in (meta, source)]


def test_a_passage_vector_goes_out_as_its_float32_values_in_few_bytes():
    transport = Transport("http://127.0.0.1:9", timeout=1.0)  # made lazily; nothing connects
    item = next(iter_items(5, 384))
    action = next(passage_actions(item, "v1"))
    meta, source = body_lines(transport, action)
    sent = np.asarray(source["vector"], np.float32)
    assert meta["index"]["_id"] == action["_id"] and meta["index"]["routing"] == item.doc.doc_id
    assert np.array_equal(sent, np.asarray(item.vectors[0], np.float32))
    assert source["text"] == item.chunks[0].text and "vector" in source
    # float32's shortest digits, not a double's 17: about half the bytes of the old `.tolist()` body.
    serializer = transport.client.transport.serializers.get_serializer("application/json")
    as_doubles = json.dumps(np.asarray(item.vectors[0], np.float32).tolist(), separators=(",", ":"))
    assert len(serializer.dumps(action["_source"]["vector"])) < 0.7 * len(as_doubles)
