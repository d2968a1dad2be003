"""What the operators of the bot look at: the /stats chart (and `hrm-bot stats --chart`)."""
