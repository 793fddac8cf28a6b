# bash completion for mailtoken.
# Commands, subcommands, options and the kind of value an option takes are read
# from the tool's own --help at each completion, so they follow the tool
# without being listed here.

# Reads one --help text into the caller's _mt_words (commands or subcommands),
# _mt_opts and _mt_argof (option -> its value's name, e.g. --dir -> FOLDER),
# _mt_files (the usage takes FILE arguments).  $2: the command path so far,
# whose usage lines name further subcommands ("mailtoken renew status ...").
_mailtoken_read_help()
{
    local line section="" opt rest usage_re="mailtoken +${2:+${2// / +} +}([a-z][a-z0-9-]*)( |$)"
    _mt_words="" _mt_opts="--help --json" _mt_files=""
    _mt_argof=()
    while IFS= read -r line; do
        case $line in
            Commands: | Subcommands:) section=list; continue ;;
            '') section=; continue ;;
        esac
        if [[ $section == list && $line =~ ^\ +([a-z][a-z0-9-]*)\ \  ]]; then
            _mt_words+=" ${BASH_REMATCH[1]}"
        elif [[ $line =~ ^(Usage:)?\ +mailtoken\  ]]; then
            [[ $line =~ $usage_re && " $_mt_words " != *" ${BASH_REMATCH[1]} "* ]] &&
                _mt_words+=" ${BASH_REMATCH[1]}"
            [[ $line == *FILE* ]] && _mt_files=1
        elif [[ $line =~ ^\ +(-[a-zA-Z],\ )?--[a-z] ]]; then
            # "  --dir FOLDER   text", "  --help, --version": the options come
            # first, the text after two spaces.
            rest=${line#"${line%%[! ]*}"}
            rest=${rest%%  *}
            while [[ $rest =~ ^(-[a-zA-Z],\ )?(--[a-z][a-z0-9-]*)(\ ([A-Z][A-Z0-9_]*))?(,\ )?(.*)$ ]]; do
                opt=${BASH_REMATCH[2]}
                [[ " $_mt_opts " == *" $opt "* ]] || _mt_opts+=" $opt"
                [[ -n ${BASH_REMATCH[4]} ]] && _mt_argof[$opt]=${BASH_REMATCH[4]}
                rest=${BASH_REMATCH[6]}
            done
        fi
    done <<<"$1"
}

_mailtoken()
{
    local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local _mt_words _mt_opts _mt_files i w value=
    local -A _mt_argof
    local -a path=()
    COMPREPLY=()
    _mailtoken_read_help "$("$prog" --help 2>/dev/null)" ""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == -* ]]; then
            [[ $w != *=* && -n ${_mt_argof[$w]-} ]] && ((i++))
        elif ((${#path[@]} < 2)) && [[ " $_mt_words " == *" $w "* ]]; then
            path+=("$w")
            _mailtoken_read_help "$("$prog" "${path[@]}" --help 2>/dev/null)" "${path[*]}"
        else
            _mt_words="" # an argument: no subcommand can follow
        fi
    done
    [[ $prev == -* ]] && value=${_mt_argof[$prev]-}
    if [[ -n $value ]]; then
        case $value in
            FOLDER | DIR) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            F | FILE | PATH | CSV | CERT | *FILE) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        esac
        compopt -o filenames 2>/dev/null
    elif [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$_mt_opts" -- "$cur")
    elif [[ -n $_mt_words ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$_mt_words" -- "$cur")
    elif [[ -n $_mt_files ]]; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        compopt -o filenames 2>/dev/null
    fi
    return 0
}
complete -F _mailtoken mailtoken
