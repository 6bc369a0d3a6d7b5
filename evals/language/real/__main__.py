from picseek.evals.language.realtext import main

main()
