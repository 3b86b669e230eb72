import pandas as pd

sales = pd.read_csv("data/sales_2024.csv", parse_dates=["order_date"])
monthly = (
    sales.assign(month=sales.order_date.dt.to_period("M"))
    .groupby(["month", "region"], as_index=False)["revenue"]
    .sum()
    .sort_values("revenue", ascending=False)
)
monthly.head(10)
