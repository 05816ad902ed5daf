/* SPDX-License-Identifier: Apache-2.0 */
/* The refd command: dispatches to the subcommand (src/cli). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/secret.h"

static const char *main_usage =
    "refd " REFD_VERSION " - referral tracking and partner commissions\n"
    "\n"
    "Usage: refd COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  serve            run the HTTP server (migrates the database and seeds demo data when it is empty)\n"
    "  migrate          apply pending database migrations\n"
    "  user add         create a user: --email E --role owner|admin|manager|partner [--partner ID]\n"
    "  user passwd      set a user's password: --email E\n"
    "  apikey create    create an API key and print it once: --name N --role R [--partner ID]\n"
    "  rollups rebuild  recompute the report rollups from the raw tables\n"
    "  payouts          payout runs for scripts: run, approve, export, mark-paid (see refd payouts --help)\n"
    "  import           partners, leads or sales from a CSV file: --type T --file F [--dry-run] [--map NAME]\n"
    "  bench-data       add synthetic partners for benchmarks: --partners N\n"
    "  db copy          copy a whole database into an empty one (SQLite to PostgreSQL): --from DB --to DB\n"
    "  routes           list every HTTP route\n"
    "  version          print the version\n"
    "\n"
    "Every option can also come from its REFD_* environment variable; `refd COMMAND --help` lists them.\n"
    "Passwords for `user add` and `user passwd` are read from standard input when it is not a terminal;\n"
    "otherwise a password is generated and printed.";

int main(int argc, char **argv)
{
	if (rf_secret_init() != 0) {
		fprintf(stderr, "refd: cannot initialise libsodium\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		printf("%s\n", main_usage);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return rf_cli_serve(argc - 2, argv + 2);
	if (strcmp(cmd, "migrate") == 0)
		return rf_cli_migrate(argc - 2, argv + 2);
	if (strcmp(cmd, "user") == 0)
		return rf_cli_user(argc - 2, argv + 2);
	if (strcmp(cmd, "rollups") == 0)
		return rf_cli_rollups(argc - 2, argv + 2);
	if (strcmp(cmd, "payouts") == 0)
		return rf_cli_payouts(argc - 2, argv + 2);
	if (strcmp(cmd, "apikey") == 0)
		return rf_cli_apikey(argc - 2, argv + 2);
	if (strcmp(cmd, "import") == 0)
		return rf_cli_import(argc - 2, argv + 2);
	if (strcmp(cmd, "bench-data") == 0)
		return rf_cli_bench_data(argc - 2, argv + 2);
	if (strcmp(cmd, "routes") == 0)
		return rf_cli_routes();
	if (strcmp(cmd, "db") == 0)
		return rf_cli_db(argc - 2, argv + 2);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("refd %s\n", REFD_VERSION);
		return 0;
	}
	fprintf(stderr, "refd: unknown command '%s' (see refd --help)\n", cmd);
	return 2;
}
