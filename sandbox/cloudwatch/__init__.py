"""CloudWatch: every datapoint put into it (`metrics`), metric math (`expressions`) and alarms evaluated on them with
their history (`alarms`), and the patches that make moto's CloudWatch behave so (`patches`)."""
