"""Reporting: the monthly report and quarterly summary, their files and charts, and metric imports."""
