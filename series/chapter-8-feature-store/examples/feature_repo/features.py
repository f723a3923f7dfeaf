"""Feature definitions of chapter 8: two entities, each with one feature view.

- driver / driver_stats: hourly stats of five drivers of a ride-hailing example, the feature store's
  classic first example.
- iris / iris_measurements: the 150 flowers of Fisher's iris data set, which chapter 6 trains its
  classifier on; chapter 5's pipeline reads them from the feature server as training data.

`feast apply` imports this file, finds the Entity and FeatureView objects below and writes them to
the registry. The data behind them is data/driver_stats.parquet and data/iris_measurements.parquet,
which ../make_dataset.py writes.
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


# The iris flowers: iris_id is the row number (0-149) of the data set in the order of scikit-learn's
# load_iris(), so row i of the training data and iris_id i are the same flower.
iris = Entity(
    name="iris",
    join_keys=["iris_id"],
    value_type=ValueType.INT64,
    description="One flower of Fisher's iris data set, identified by its row number iris_id (0-149).",
)

# The offline source: one row per flower, all with the same event time (the measurements do not
# change over time; make_dataset.py stamps them with the current hour so that materialization loads
# them like the driver stats).
iris_measurements_source = FileSource(
    name="iris_measurements_source",
    path="data/iris_measurements.parquet",  # relative to the feature repository
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

# The four measurements are the classifier's inputs, species is its label: a training job asks for
# all five features of every iris_id and gets a complete training set.
iris_measurements = FeatureView(
    name="iris_measurements",
    entities=[iris],
    ttl=timedelta(days=1),
    schema=[
        Field(name="sepal_length_cm", dtype=Float32, description="Sepal length in centimetres."),
        Field(name="sepal_width_cm", dtype=Float32, description="Sepal width in centimetres."),
        Field(name="petal_length_cm", dtype=Float32, description="Petal length in centimetres."),
        Field(name="petal_width_cm", dtype=Float32, description="Petal width in centimetres."),
        Field(
            name="species",
            dtype=Int64,
            description="The label: 0 setosa, 1 versicolor, 2 virginica (load_iris().target).",
        ),
    ],
    online=True,
    source=iris_measurements_source,
    tags={"chapter": "8"},
)
