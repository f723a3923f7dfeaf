"""Feature definitions of chapter 8: one entity (a driver), one feature view of hourly driver stats.

`feast apply` imports this file, finds the Entity and FeatureView objects below and writes them to
the registry. The data behind them is data/driver_stats.parquet, which ../make_dataset.py writes.
"""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float32, Int64

# The entity is what features describe; its join key is the column (and the request field) that
# identifies one driver.
driver = Entity(
    name="driver",
    join_keys=["driver_id"],
    value_type=ValueType.INT64,
    description="A driver of the ride-hailing example, identified by driver_id (1001-1005).",
)

# The offline source: one row per driver and hour. event_timestamp says when the values were true,
# created says when the row was written (it breaks ties between rows with the same event time).
driver_stats_source = FileSource(
    name="driver_stats_source",
    path="data/driver_stats.parquet",  # relative to the feature repository
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

# The feature view: which columns of the source are features, of which entity, and for how long a
# value stays valid. The online store keeps only the newest row per driver.
driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    # Historical lookups ignore rows older than this; the first `feast materialize-incremental`
    # also starts this far back.
    ttl=timedelta(days=1),
    schema=[
        Field(name="conv_rate", dtype=Float32, description="Share of ride offers accepted."),
        Field(name="acc_rate", dtype=Float32, description="Share of accepted rides completed."),
        Field(name="avg_daily_trips", dtype=Int64, description="Trips per day, 7-day average."),
    ],
    online=True,
    source=driver_stats_source,
    tags={"chapter": "8"},
)
