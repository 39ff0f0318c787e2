from pra.threads import single_threaded

# as every Snakemake job: runs of several settings side by side do not oversubscribe the cores
single_threaded()  # before numpy is imported

from pra.validate.cli import main  # noqa: E402

main()
