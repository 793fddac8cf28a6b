/* A compact blocklist of passwords that come first in every guessing list
 * (the most common ones of public password dumps, 8 characters and more, and
 * the words they are built on).  A PIN is refused when, in lower case, it is
 * one of them, or one of them followed by digits and punctuation only
 * ("Sunshine2024!").  The list is deliberately short: it stops the guesses
 * an attacker tries first, the length rules and Argon2id do the rest. */
#include "internal.h"

#include <ctype.h>
#include <string.h>

static const char *const common[] = {
    "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "1qazxsw2", "a1b2c3d4", "aa123456", "abc12345",
    "abcd1234", "abcdefg", "abcdefgh", "access", "admin", "administrator", "adobe123", "alexander",
    "asdfasdf", "asdfgh", "asdfghjk", "asdfghjkl", "azerty", "baseball", "basketball", "batman",
    "charlie", "chocolate", "computer", "dragon", "football", "freedom", "hello", "hellohello",
    "iloveyou", "internet", "jennifer", "jordan23", "letmein", "liverpool", "login", "london",
    "master", "matrix", "michael", "monkey", "mustang", "mypassword", "nicole", "password",
    "passw0rd", "p@ssw0rd", "p@ssword", "pa55word", "pass", "passpass", "passwort", "pokemon",
    "princess", "qazwsx", "qwerty", "qwertyu", "qwertyui", "qwertyuiop", "qwertz", "qwertzui",
    "secret", "security", "shadow", "soccer", "starwars", "summer", "sunshine", "superman",
    "test", "tester", "trustno1", "welcome", "whatever", "winter", "zaq12wsx", "zxcvbn",
    "zxcvbnm", "00000000", "11111111", "12121212", "12341234", "12344321", "123123123",
    "12345678", "123456789", "1234567890", "123456789a", "1234qwer", "123qwe", "123qweasd",
    "147258369", "159357", "18atcskd2w", "1password", "3rjs1la7qe", "55555555", "66666666",
    "7777777", "77777777", "87654321", "88888888", "987654321", "99999999", "aaaaaaaa",
    "changeme", "default", "dropbox", "facebook", "google", "guest", "linkedin", "microsoft",
    "myspace", "office", "outlook", "pin", "pincode", "sommer", "thomas", "user", "usuario",
    "contraseña", "motdepasse", "hallo", "schatz", "geheim", "killer", "lovely", "loveme",
    "mailtoken", "s/mime", "smime", "thunderbird", "token",
};

/* a linear scan: PINs are set rarely and the list is short */
static bool listed(const char *word)
{
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (!strcmp(common[i], word))
            return true;
    return false;
}

bool mt_pin_is_common(const uint8_t *pin, size_t len)
{
    char lower[257];
    if (len >= sizeof(lower))
        return false;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower(pin[i]);
    lower[len] = '\0';
    if (listed(lower))
        return true;
    /* the word with the digits and signs people add to pass a length rule */
    size_t base = len;
    while (base > 0 && (isdigit((unsigned char)lower[base - 1]) || ispunct((unsigned char)lower[base - 1])))
        base--;
    if (base == 0 || base == len)
        return false;
    lower[base] = '\0';
    return listed(lower);
}
