"""Client operations (tickets, whistles, meetings, campaigns, enterprises, report schedules) that the
CLI (starter/cli), the web gateway and workbench (starter/web) and the tools (starter/tools: demo,
benchmark, simulator, audit, embedded server, codec server, access proxy) are built on."""
