"""Quarterly revenue, as the design team drew it (the pinned reference is design/revenue.png)."""
# verm: reference=../design/revenue.png
import matplotlib.pyplot as plt

quarters = ["Q1", "Q2", "Q3", "Q4"]
revenue = [120, 135, 150, 170]

fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
bars = ax.bar(quarters, revenue, color="#4C72B0")
bars[2].set_facecolor("#DD8452")
ax.set_title("Revenue 2025")
ax.set_xlabel("Quarter")
ax.set_ylabel("Revenue (k€)")
ax.set_ylim(0, 200)
fig.tight_layout()
plt.show()
