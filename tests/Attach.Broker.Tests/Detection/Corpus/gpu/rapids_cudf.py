import cudf

df = cudf.read_parquet("s3://taxi/yellow_tripdata_2024-01.parquet")
df.groupby("passenger_count").fare_amount.mean()
