import duckdb

con = duckdb.connect("warehouse.duckdb", read_only=True)
con.sql("""
    SELECT date_trunc('week', ts) AS week, count(*) AS events  -- # of events per week
    FROM clicks
    GROUP BY 1
    ORDER BY 1
""").df()
